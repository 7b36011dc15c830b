"""Curating prompt libraries through HTTP with real tokens: the life cycle, who may curate,
optimistic concurrency, and what is refused."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import PromptLibrary, PromptVersion, Role, User
from app.models.prompts import PromptVersionStatus
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
    prompt_body,
    publish,
)


async def test_the_life_cycle_from_draft_to_archive(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    curator = await make_user(role=Role.curator)
    reviewer = await make_user(role=Role.curator)
    member = await make_user()
    library = await create_library(client, curator)
    assert library["status"] == "draft"
    assert library["allowed_transitions"] == ["submit", "archive"]
    lid = library["id"]
    first = await add_prompt(client, curator, lid, "What made you laugh today?", key="laugh")
    second = await add_prompt(client, curator, lid, "Tell me about a time you felt safe with me.")
    assert second["key"] == "tell-me-about-a-time-you"
    assert first["working"]["locale"] == "en"
    assert await member_libraries(client, member) == []

    submitted = await move(client, curator, lid, "submit")
    assert submitted.json()["status"] == "review"
    assert await member_prompts(client, member) == []  # a copy under review is not seen
    for own_review in ("publish", "return"):  # four eyes: the author reviews nothing of theirs
        refused = await move(client, curator, lid, own_review)
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "/problems/own-submission"
    published = (await move(client, reviewer, lid, "publish")).json()
    assert published["status"] == "published"
    assert published["published_version"] == 1
    assert [v["number"] for v in published["versions"]] == [1]
    assert published["versions"][0]["prompt_count"] == 2
    assert published["versions"][0]["published_by"] == str(reviewer.id)

    libraries = await member_libraries(client, member)
    assert [(x["slug"], x["version"], x["prompt_count"]) for x in libraries] == [
        ("first-steps", 1, 2)
    ]
    seen = await member_prompts(client, member)
    assert {p["version_id"] for p in seen} == {
        first["working"]["id"],
        second["working"]["id"],
    }
    assert all(p["library"] == "first-steps" for p in seen)

    # Editing a published prompt adds draft version 2; members keep version 1.
    url = f"/v1/admin/prompts/{first['id']}"
    edited = await patch(client, curator, url, {"text": "What made you laugh out loud today?"})
    assert edited.status_code == 200, edited.text
    detail = edited.json()
    assert [(v["number"], v["status"], v["is_live"]) for v in detail["versions"]] == [
        (1, "published", True),
        (2, "draft", False),
    ]
    again = await patch(client, curator, url, {"depth": 1})
    assert len(again.json()["versions"]) == 2  # a draft is edited in place
    library_now = (await client.get(f"{LIBRARIES}/{lid}", headers=curator.headers(ADMIN))).json()
    assert library_now["status"] == "draft"  # pending changes
    assert library_now["published_version"] == 1
    texts = {p["text"] for p in await member_prompts(client, member)}
    assert "What made you laugh today?" in texts
    assert "What made you laugh out loud today?" not in texts

    republished = await publish(client, curator, lid, reviewer=reviewer)
    assert republished["published_version"] == 2
    live = {p["prompt_id"]: p for p in await member_prompts(client, member)}
    assert live[first["id"]]["text"] == "What made you laugh out loud today?"
    assert live[first["id"]]["depth"] == 1
    assert live[first["id"]]["version_id"] == detail["versions"][1]["id"]
    assert live[second["id"]]["version_id"] == second["working"]["id"]  # unchanged stays
    v1 = await db.get(PromptVersion, uuid.UUID(first["working"]["id"]))
    assert v1 is not None
    assert (v1.text, v1.status, v1.is_live, v1.library_version) == (
        "What made you laugh today?",
        PromptVersionStatus.published,
        False,
        1,
    )
    await db.commit()

    # Removing leaves members' view untouched until the next publication.
    removed = await client.delete(
        f"/v1/admin/prompts/{second['id']}", headers=curator.headers(ADMIN)
    )
    assert removed.status_code == 204
    assert len(await member_prompts(client, member)) == 2
    pending = (await client.get(f"{LIBRARIES}/{lid}", headers=curator.headers(ADMIN))).json()
    assert any(p["removed_at"] for p in pending["prompts"])
    third = await publish(client, curator, lid, reviewer=reviewer)
    assert [v["prompt_count"] for v in third["versions"]] == [2, 2, 1]
    assert [p["prompt_id"] for p in await member_prompts(client, member)] == [first["id"]]
    assert [p["id"] for p in third["prompts"]] == [first["id"]]
    assert (await member_libraries(client, member))[0]["version"] == 3

    archived = await move(client, curator, lid, "archive")
    assert archived.json()["allowed_transitions"] == ["restore"]
    assert await member_libraries(client, member) == []
    assert await member_prompts(client, member) == []
    restored = await move(client, curator, lid, "restore")
    assert restored.json()["status"] == "draft"
    assert [p["prompt_id"] for p in await member_prompts(client, member)] == [first["id"]]


async def test_illegal_moves_and_locked_edits_are_conflicts(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.admin)
    lid = (await create_library(client, curator))["id"]
    early = await move(client, curator, lid, "publish")
    assert early.status_code == 409
    problem = early.json()
    assert problem["type"] == "/problems/illegal-transition"
    assert problem["current_status"] == "draft"
    assert problem["allowed_transitions"] == ["submit", "archive"]
    empty = await move(client, curator, lid, "submit")
    assert empty.status_code == 409
    assert empty.json()["type"] == "/problems/empty-library"

    prompt = await add_prompt(client, curator, lid, "What are you looking forward to?")
    assert (await move(client, curator, lid, "submit")).status_code == 200
    again = await move(client, curator, lid, "submit")
    assert again.status_code == 409
    assert again.json()["allowed_transitions"] == ["publish", "return", "archive"]
    locked = await patch(client, curator, f"{LIBRARIES}/{lid}", {"title": "Renamed"})
    assert locked.status_code == 409
    assert locked.json()["type"] == "/problems/library-locked"
    assert locked.json()["current_status"] == "review"
    adding = await client.post(
        f"{LIBRARIES}/{lid}/prompts",
        json=prompt_body("Another one?"),
        headers=curator.headers(ADMIN),
    )
    assert adding.status_code == 409
    editing = await patch(client, curator, f"/v1/admin/prompts/{prompt['id']}", {"depth": 3})
    assert editing.status_code == 409

    returned = await client.post(
        f"{LIBRARIES}/{lid}/return",
        json={"comment": "Needs a lighter prompt too."},
        headers=curator.headers(ADMIN),
    )
    assert returned.status_code == 200
    assert returned.json()["status"] == "draft"
    assert (await move(client, curator, lid, "archive")).status_code == 200
    for action in ("submit", "publish", "return", "archive"):
        refused = await move(client, curator, lid, action)
        assert refused.status_code == 409, action
        assert refused.json()["current_status"] == "archived"
        assert refused.json()["allowed_transitions"] == ["restore"]
    deleting = await client.delete(
        f"/v1/admin/prompts/{prompt['id']}", headers=curator.headers(ADMIN)
    )
    assert deleting.status_code == 409


async def test_only_curators_with_the_scope_may_curate(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    member = await make_user()
    curator = await make_user(role=Role.curator)
    body = {"slug": "mine", "title": "Mine", "locale": "en"}
    as_member = await client.post(LIBRARIES, json=body, headers=member.headers(ADMIN))
    assert as_member.status_code == 403
    assert as_member.json()["type"] == "/problems/not-a-curator"
    no_scope = await client.post(LIBRARIES, json=body, headers=curator.headers(READ))
    assert no_scope.status_code == 403
    assert no_scope.json()["type"] == "/problems/insufficient-scope"
    anonymous = await client.get(LIBRARIES)
    assert anonymous.status_code == 401
    assert "WWW-Authenticate" in anonymous.headers
    for path in ("/v1/admin/audit", LIBRARIES):
        assert (await client.get(path, headers=member.headers(ADMIN))).status_code == 403
    assert (await client.get("/v1/prompts", headers=member.headers(ADMIN))).status_code == 403
    assert (await client.get("/v1/libraries")).status_code == 401

    assert (await client.get(LIBRARIES, headers=curator.headers(ADMIN))).status_code == 200
    # The role is read on every request: a demoted curator's live token stops working.
    token = curator.headers(ADMIN)
    await db.execute(update(User).where(User.id == curator.id).values(role=Role.member))
    await db.commit()
    assert (await client.get(LIBRARIES, headers=token)).status_code == 403
    assert await db.scalar(select(func.count()).select_from(PromptLibrary)) == 0


async def test_changes_need_a_current_if_match(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    library = await create_library(client, curator)
    url = f"{LIBRARIES}/{library['id']}"
    missing = await client.patch(url, json={"title": "New"}, headers=curator.headers(ADMIN))
    assert missing.status_code == 428
    current = await client.get(url, headers=curator.headers(ADMIN))
    etag = current.headers["ETag"]
    not_modified = await client.get(url, headers={**curator.headers(ADMIN), "If-None-Match": etag})
    assert not_modified.status_code == 304
    prompt = await add_prompt(client, curator, library["id"], "What did you dream about?")
    stale = await client.patch(
        url, json={"title": "New"}, headers={**curator.headers(ADMIN), "If-Match": etag}
    )
    assert stale.status_code == 412  # adding the prompt changed the library
    done = await patch(client, curator, url, {"title": "New", "stages": ["new", "long_term"]})
    assert done.status_code == 200
    assert (done.json()["title"], done.json()["stages"]) == ("New", ["new", "long_term"])
    assert done.headers["ETag"] != etag

    prompt_url = f"/v1/admin/prompts/{prompt['id']}"
    assert (
        await client.patch(prompt_url, json={"depth": 1}, headers=curator.headers(ADMIN))
    ).status_code == 428
    old = (await client.get(prompt_url, headers=curator.headers(ADMIN))).headers["ETag"]
    assert (await patch(client, curator, prompt_url, {"depth": 1})).status_code == 200
    stale_prompt = await client.patch(
        prompt_url, json={"depth": 3}, headers={**curator.headers(ADMIN), "If-Match": old}
    )
    assert stale_prompt.status_code == 412


async def test_invalid_prompts_and_taken_names_are_refused(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    lid = (await create_library(client, curator))["id"]
    url = f"{LIBRARIES}/{lid}/prompts"
    invalid = {
        "#/text": prompt_body("x" * 501),
        "#/depth": prompt_body("Deep?", depth=4),
        "#/category": prompt_body("Fix it?", category="fix"),
        "#/tags/0": prompt_body("Tagged?", tags=["Not A Slug"]),
        "#/tags": prompt_body("Many tags?", tags=[f"t{i}" for i in range(21)]),
        "#/stages/0": prompt_body("Stage?", stages=["forever"]),
        "#/listener_guidance": prompt_body("Guided?", listener_guidance="y" * 1001),
    }
    for pointer, body in invalid.items():
        response = await client.post(url, json=body, headers=curator.headers(ADMIN))
        assert response.status_code == 422, pointer
        assert pointer in [e["pointer"] for e in response.json()["errors"]], response.text
    await add_prompt(client, curator, lid, "Hello?", key="hello")
    taken = await client.post(
        url, json=prompt_body("Hi?", key="hello"), headers=curator.headers(ADMIN)
    )
    assert taken.status_code == 409
    generated = await add_prompt(client, curator, lid, "Hello?")
    assert generated["key"] == "hello-2"
    slug = await client.post(
        LIBRARIES,
        json={"slug": "first-steps", "title": "Again", "locale": "en"},
        headers=curator.headers(ADMIN),
    )
    assert slug.status_code == 409
    assert slug.json()["type"] == "/problems/library-slug-taken"
