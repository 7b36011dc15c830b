"""What members see of curated content, and the starter content seeded from the shipped files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.problems import ProblemError
from app.models import AuditEntry, LibraryVersion, PromptLibrary, PromptVersion, Role
from app.services.library_files import CONTENT_DIR, parse_library_file, seed_libraries
from app.services.seed import seed
from tests.conftest import MakeUser
from tests.curation_support import (
    ADMIN,
    LIBRARIES,
    READ,
    add_prompt,
    create_library,
    member_libraries,
    member_prompts,
    move,
    patch,
    publish,
)


def library_document(slug: str, count: int = 2, **fields: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": slug.replace("-", " ").title(),
        "description": "",
        "locale": "en",
        "stages": [],
        "prompts": [
            {
                "key": f"{slug}-{n:03d}",
                "text": f"Prompt {n} of {slug}?",
                "category": ["listen", "share", "play"][n % 3],
                "depth": 1 + n % 3,
                "kind": "question",
                "listener_guidance": None,
                "tags": [],
                "stages": [],
                "sensitive": False,
            }
            for n in range(1, count + 1)
        ],
        **fields,
    }


async def run_seed(
    sessionmaker: async_sessionmaker[AsyncSession], directory: Path | None = None
) -> dict[str, int]:
    async with sessionmaker() as session, session.begin():
        if directory is None:
            return await seed(session)
        return await seed_libraries(session, directory)


async def test_members_see_only_live_versions_of_published_libraries(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    reviewer = await make_user(role=Role.curator)
    member = await make_user()
    live = (await create_library(client, curator, slug="live"))["id"]
    shown = await add_prompt(client, curator, live, "Shown?", key="shown")
    await publish(client, curator, live, reviewer=reviewer)
    pending = await add_prompt(client, curator, live, "Not yet?", key="pending")
    draft = (await create_library(client, curator, slug="draft-only"))["id"]
    await add_prompt(client, curator, draft, "Draft?")
    review = (await create_library(client, curator, slug="in-review"))["id"]
    await add_prompt(client, curator, review, "Review?")
    await move(client, curator, review, "submit")
    gone = (await create_library(client, curator, slug="gone"))["id"]
    await add_prompt(client, curator, gone, "Archived?")
    await publish(client, curator, gone, reviewer=reviewer)
    await move(client, curator, gone, "archive")

    assert [x["slug"] for x in await member_libraries(client, member)] == ["live"]
    seen = await member_prompts(client, member)
    assert [(p["prompt_id"], p["version_id"]) for p in seen] == [
        (shown["id"], shown["working"]["id"])
    ]
    assert set(seen[0]) == {
        "prompt_id",
        "version_id",
        "library",
        "text",
        "category",
        "depth",
        "kind",
        "listener_guidance",
        "tags",
        "locale",
        "fallback",
        "stages",
        "sensitive",
    }
    for library in ("draft-only", "in-review", "gone", draft, gone):
        assert await member_prompts(client, member, library=library) == []
    assert pending["id"] not in {p["prompt_id"] for p in seen}


async def test_the_catalog_filters_and_pages(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    reviewer = await make_user(role=Role.curator)
    member = await make_user()
    ids = {}
    for slug, locale in (("alpha", "en"), ("beta", "en-GB"), ("gamma", "fr")):
        document = library_document(slug, count=3, locale=locale)
        created = await client.post(
            f"{LIBRARIES}/import", json=document, headers=curator.headers(ADMIN)
        )
        assert created.status_code == 201, created.text
        ids[slug] = created.json()["id"]
        await publish(client, curator, ids[slug], reviewer=reviewer)

    everything = await member_prompts(client, member, limit=100)
    assert len(everything) == 9
    assert [p["library"] for p in everything] == ["alpha"] * 3 + ["beta"] * 3 + ["gamma"] * 3
    by_slug = await member_prompts(client, member, library="beta")
    by_id = await member_prompts(client, member, library=ids["beta"])
    assert by_slug == by_id and len(by_slug) == 3
    english = await member_prompts(client, member, locale="en")
    assert {p["library"] for p in english} == {"alpha", "beta"}
    assert {p["library"] for p in await member_prompts(client, member, locale="en-gb")} == {"beta"}
    deep = await member_prompts(client, member, depth=3)
    assert deep and all(p["depth"] == 3 for p in deep)
    plays = await member_prompts(client, member, category="play")
    assert plays and all(p["category"] == "play" for p in plays)
    bad = await client.get(
        "/v1/prompts", params={"depth": 4, "locale": "english!"}, headers=member.headers(READ)
    )
    assert bad.status_code == 422

    collected: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/prompts", params=params, headers=member.headers(READ))).json()
        collected += [p["version_id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert collected == [p["version_id"] for p in everything]
    first = (
        await client.get("/v1/libraries", params={"limit": 2}, headers=member.headers(READ))
    ).json()
    assert [x["slug"] for x in first["data"]] == ["alpha", "beta"] and first["has_more"]


async def test_catalog_lists_cost_a_bounded_number_of_queries(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    count_queries: Any,
    tmp_path: Path,
) -> None:
    member = await make_user()
    (tmp_path / "one.json").write_text(json.dumps(library_document("one", count=2)))
    await run_seed(sessionmaker, tmp_path)

    async def measure() -> list[int]:
        counts = []
        for path in ("/v1/libraries", "/v1/prompts"):
            with count_queries() as counter:
                response = await client.get(path, headers=member.headers(READ))
            assert response.status_code == 200
            counts.append(counter.count)
        return counts

    few = await measure()
    for n in range(2, 6):
        (tmp_path / f"lib-{n}.json").write_text(json.dumps(library_document(f"lib-{n}", 4)))
    await run_seed(sessionmaker, tmp_path)
    many = await measure()
    assert few == many
    # The page and the libraries' slugs (or versions), and the reader's own locale, as the
    # request sends no Accept-Language.
    assert max(many) <= 3


async def test_every_shipped_library_file_is_valid() -> None:
    files = sorted(CONTENT_DIR.glob("*.json"))
    assert files, "app/content/libraries has no library files"
    slugs = [parse_library_file(path.read_bytes()).slug for path in files]
    assert len(set(slugs)) == len(slugs)


async def test_seeding_publishes_the_shipped_libraries_once(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> None:
    files = sorted(CONTENT_DIR.glob("*.json"))
    expected_prompts = sum(len(json.loads(path.read_bytes())["prompts"]) for path in files)
    first = await run_seed(sessionmaker)
    assert first["libraries"] == len(files)
    assert first["prompts"] == expected_prompts
    assert first["libraries_unchanged"] == 0
    member = await make_user()
    libraries = await member_libraries(client, member)
    assert len(libraries) == len(files)
    assert all(x["version"] == 1 for x in libraries)
    seeded = (
        await db.scalars(select(AuditEntry).where(AuditEntry.action == "library.seeded"))
    ).all()
    assert len(seeded) == len(files)
    assert all(e.actor_user_id is None and e.actor_client_id is None for e in seeded)
    versions = (await db.scalars(select(LibraryVersion))).all()
    assert all(v.number == 1 and v.published_by is None for v in versions)
    live = await db.scalar(
        select(func.count()).select_from(PromptVersion).where(PromptVersion.is_live.is_(True))
    )
    assert live == expected_prompts
    await db.commit()

    # A curator edits a seeded library; seeding again leaves it as the curator made it.
    curator = await make_user(role=Role.curator)
    library = libraries[0]
    url = f"{LIBRARIES}/{library['id']}"
    assert (await patch(client, curator, url, {"title": "Our own title"})).status_code == 200
    second = await run_seed(sessionmaker)
    assert second["libraries"] == 0 and second["prompts"] == 0
    assert second["libraries_unchanged"] == len(files)
    assert second["translations_added"] == 0  # the shipped ones are all there
    title = await db.scalar(
        select(PromptLibrary.title).where(PromptLibrary.slug == library["slug"])
    )
    assert title == "Our own title"
    assert await db.scalar(select(func.count()).select_from(PromptLibrary)) == len(files)
    assert await db.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "library.seeded")
    ) == len(files)


async def test_an_invalid_content_file_stops_the_seed_and_names_it(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path, db: AsyncSession
) -> None:
    (tmp_path / "a-good.json").write_text(json.dumps(library_document("good")))
    broken = library_document("broken", count=3)
    broken["prompts"][2]["depth"] = 0
    (tmp_path / "b-broken.json").write_text(json.dumps(broken))
    with pytest.raises(ProblemError) as caught:
        await run_seed(sessionmaker, tmp_path)
    assert "b-broken.json" in str(caught.value.detail)
    assert caught.value.extra["errors"][0]["pointer"] == "#/prompts/2/depth"
    assert await db.scalar(select(func.count()).select_from(PromptLibrary)) == 0
