"""A library's own details are versioned like its prompts: members see the published
version's title, description, locale and stages until the next publication."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry, Role
from tests.conftest import MakeUser
from tests.curation_support import (
    ADMIN,
    LIBRARIES,
    add_prompt,
    create_library,
    member_libraries,
    move,
    patch,
    publish,
)


async def test_members_see_the_published_details_until_the_next_publication(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    curator = await make_user(role=Role.curator)
    reviewer = await make_user(role=Role.curator)
    member = await make_user()
    lid = (await create_library(client, curator, description="For new couples."))["id"]
    await add_prompt(client, curator, lid, "What made you laugh today?")
    await publish(client, curator, lid, reviewer=reviewer)

    changed = await patch(
        client,
        curator,
        f"{LIBRARIES}/{lid}",
        {"title": "Secret new title", "description": "Not yet.", "stages": ["long_term"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "Secret new title"  # the curator sees the draft
    [seen] = await member_libraries(client, member)
    assert (seen["title"], seen["description"], seen["stages"]) == (
        "First steps",
        "For new couples.",
        ["new"],
    )
    assert (
        "Secret new title"
        not in (await client.get("/v1/libraries", headers=member.headers("prompts:read"))).text
    )

    second = await publish(client, curator, lid, reviewer=reviewer)
    assert [v["title"] for v in second["versions"]] == ["First steps", "Secret new title"]
    assert second["versions"][1]["stages"] == ["long_term"]
    [seen] = await member_libraries(client, member)
    assert (seen["title"], seen["version"]) == ("Secret new title", 2)

    entry = await db.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "library.published")
        .order_by(AuditEntry.seq.desc())
    )
    assert entry is not None and entry.before is not None and entry.after is not None
    assert entry.before["published"]["title"] == "First steps"
    assert entry.after["published"]["title"] == "Secret new title"
    assert entry.after["version"] == 2


async def test_a_restored_library_shows_its_last_published_details_not_its_draft(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    reviewer = await make_user(role=Role.curator)
    member = await make_user()
    lid = (await create_library(client, curator))["id"]
    await add_prompt(client, curator, lid, "What made you laugh today?")
    await publish(client, curator, lid, reviewer=reviewer)
    renamed = await patch(client, curator, f"{LIBRARIES}/{lid}", {"title": "Draft title"})
    assert renamed.status_code == 200, renamed.text
    assert (await move(client, curator, lid, "archive")).status_code == 200
    assert await member_libraries(client, member) == []
    restored = await move(client, curator, lid, "restore")
    assert restored.json()["title"] == "Draft title"
    [seen] = await member_libraries(client, member)
    assert seen["title"] == "First steps"


async def test_a_member_cannot_read_a_librarys_draft_through_the_admin_api(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    member = await make_user()
    curator = await make_user(role=Role.curator)
    lid = (await create_library(client, curator))["id"]
    for url in (f"{LIBRARIES}/{lid}", LIBRARIES, f"{LIBRARIES}/{lid}/export"):
        refused = await client.get(url, headers=member.headers(ADMIN))
        assert refused.status_code == 403, url
        assert "First steps" not in refused.text
