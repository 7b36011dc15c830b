"""Curating repair-plan templates through HTTP: the life cycle, who may curate, versions,
the audit log, what members see; and the starter templates the seed loads."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import RepairTemplate, RepairTemplateVersion, Role
from app.services.repair_catalog import (
    CONTENT_FILE,
    InvalidTemplateFile,
    parse_template_file,
    seed_templates,
)
from app.services.seed import seed
from tests.conftest import MakeUser, Person
from tests.factories import pair
from tests.repair_support import PLANS, h

ADMIN = "admin:content"
TEMPLATES = "/v1/admin/repair-templates"
PHASES = [
    {
        "key": "atone",
        "title": "Own it",
        "steps": [{"title": "Name what happened", "owner": "involved"}],
        "agreements": ["We answer questions honestly."],
    },
    {"key": "attach", "title": "Come close", "steps": [{"title": "A walk", "owner": "both"}]},
]


async def create(client: httpx.AsyncClient, curator: Person, **body: Any) -> dict[str, Any]:
    body = {"slug": "after-a-lie", "title": "After a lie", **body}
    response = await client.post(TEMPLATES, json=body, headers=curator.headers(ADMIN))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def move(
    client: httpx.AsyncClient, curator: Person, template_id: str, action: str
) -> httpx.Response:
    return await client.post(f"{TEMPLATES}/{template_id}/{action}", headers=curator.headers(ADMIN))


async def patch(
    client: httpx.AsyncClient, curator: Person, template_id: str, body: dict[str, Any]
) -> httpx.Response:
    url = f"{TEMPLATES}/{template_id}"
    etag = (await client.get(url, headers=curator.headers(ADMIN))).headers["ETag"]
    return await client.patch(url, json=body, headers={**curator.headers(ADMIN), "If-Match": etag})


async def member_templates(client: httpx.AsyncClient, member: Person) -> list[dict[str, Any]]:
    response = await client.get("/v1/repair-templates", headers=member.headers("repair:read"))
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_the_life_cycle_versions_and_audit_log(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    reviewer = await make_user(role=Role.curator)
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    template = await create(client, curator)
    tid = template["id"]
    assert template["status"] == "draft"
    assert template["allowed_transitions"] == ["submit", "archive"]
    assert [p["key"] for p in template["phases"]] == ["atone", "attune", "attach"]
    assert template["roles"] == ["hurt", "involved"]
    assert await member_templates(client, ann) == []

    empty = await move(client, curator, tid, "submit")
    assert empty.status_code == 409
    assert empty.json()["type"] == "/problems/repair-template-empty"
    illegal = await move(client, curator, tid, "publish")
    assert illegal.status_code == 409
    assert illegal.json()["current_status"] == "draft"
    assert illegal.json()["allowed_transitions"] == ["submit", "archive"]

    url = f"{TEMPLATES}/{tid}"
    no_if_match = await client.patch(url, json={"phases": PHASES}, headers=curator.headers(ADMIN))
    assert no_if_match.status_code == 428
    edited = await patch(client, curator, tid, {"phases": PHASES})
    assert edited.status_code == 200, edited.text
    assert [p["key"] for p in edited.json()["phases"]] == ["atone", "attach"]
    assert (await move(client, curator, tid, "submit")).json()["status"] == "review"
    locked = await patch(client, curator, tid, {"title": "Other"})
    assert locked.status_code == 409
    assert locked.json()["type"] == "/problems/repair-template-locked"
    assert locked.json()["current_status"] == "review"
    assert locked.json()["allowed_transitions"] == ["publish", "return", "archive"]
    assert await member_templates(client, ann) == []  # under review: not seen
    own = await move(client, curator, tid, "publish")  # four eyes: not the author
    assert own.status_code == 403 and own.json()["type"] == "/problems/own-submission"
    published = (await move(client, reviewer, tid, "publish")).json()
    assert published["status"] == "published" and published["published_version"] == 1
    assert [v["number"] for v in published["versions"]] == [1]
    assert published["versions"][0]["published_by"] == str(reviewer.id)

    seen = await member_templates(client, ann)
    assert [(t["slug"], t["version"], t["title"]) for t in seen] == [
        ("after-a-lie", 1, "After a lie")
    ]
    plan = (
        await client.post(
            PLANS, json={"template": "after-a-lie", "hurt_user_id": str(ann.id)}, headers=h(bo)
        )
    ).json()
    assert plan["template_version"] == 1

    # Editing a published template sends it back to draft; members keep version 1.
    draft = await patch(client, curator, tid, {"title": "After a lie was found out"})
    assert draft.json()["status"] == "draft"
    assert draft.json()["published_version"] == 1
    assert (await member_templates(client, ann))[0]["title"] == "After a lie"
    assert (await move(client, curator, tid, "submit")).status_code == 200
    assert (await move(client, reviewer, tid, "publish")).status_code == 200
    assert (await member_templates(client, ann))[0]["title"] == "After a lie was found out"
    first = await client.get(f"{url}/versions/1", headers=curator.headers(ADMIN))
    assert first.json()["title"] == "After a lie"
    assert (
        await client.get(f"{url}/versions/9", headers=curator.headers(ADMIN))
    ).status_code == 404
    # The plan proposed from version 1 keeps its copy.
    kept = await client.get(f"{PLANS}/{plan['id']}", headers=h(ann))
    assert kept.json()["title"] == "After a lie"

    assert (await move(client, curator, tid, "archive")).json()["status"] == "archived"
    assert await member_templates(client, ann) == []
    gone = await client.get("/v1/repair-templates/after-a-lie", headers=ann.headers("repair:read"))
    assert gone.status_code == 404
    restored = (await move(client, curator, tid, "restore")).json()
    assert restored["status"] == "draft"
    assert [t["version"] for t in await member_templates(client, ann)] == [2]

    audit = await client.get(
        "/v1/admin/audit",
        params={"entity_type": "repair_template", "entity_id": tid},
        headers=curator.headers(ADMIN),
    )
    assert audit.status_code == 200, audit.text
    entries = list(reversed(audit.json()["data"]))
    assert [e["action"] for e in entries] == [
        "repair_template.created",
        "repair_template.updated",
        "repair_template.submitted",
        "repair_template.published",
        "repair_template.updated",
        "repair_template.submitted",
        "repair_template.published",
        "repair_template.archived",
        "repair_template.restored",
    ]
    reviewed = {3, 6}
    assert all(
        e["actor_user_id"] == str(reviewer.id) for i, e in enumerate(entries) if i in reviewed
    )
    assert all(
        e["actor_user_id"] == str(curator.id) for i, e in enumerate(entries) if i not in reviewed
    )
    assert entries[4]["before"]["title"] == "After a lie"
    assert entries[4]["after"]["title"] == "After a lie was found out"
    assert entries[6]["after"]["version"] == 2


async def test_only_curators_curate_and_templates_must_hold_together(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    member, admin = await make_user(), await make_user(role=Role.admin)
    body = {"slug": "x", "title": "X"}
    refused = await client.post(TEMPLATES, json=body, headers=member.headers(ADMIN))
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/not-a-curator"
    assert (await client.post(TEMPLATES, json=body, headers=admin.headers())).status_code == 403
    created = await create(client, admin, slug="mutual-one", roles=["mutual"])
    taken = await client.post(
        TEMPLATES, json={"slug": "mutual-one", "title": "Y"}, headers=admin.headers(ADMIN)
    )
    assert taken.status_code == 409
    misfit = await patch(client, admin, created["id"], {"phases": PHASES})
    assert misfit.status_code == 422  # a mutual plan has no `involved` partner to own a step
    assert misfit.json()["errors"][0]["pointer"] == "#/phases"
    for bad in (
        {"slug": "a", "title": "A", "roles": ["hurt"]},
        {"slug": "b", "title": "B", "roles": ["mutual"], "phases": PHASES},
        {"slug": "c", "title": "C", "phases": [PHASES[0], PHASES[0]]},
        {"slug": "d", "title": "D", "phases": []},
    ):
        response = await client.post(TEMPLATES, json=bad, headers=admin.headers(ADMIN))
        assert response.status_code == 422, bad
    listed = await client.get(TEMPLATES, headers=admin.headers(ADMIN))
    assert [t["slug"] for t in listed.json()["data"]] == ["mutual-one"]


async def test_the_seed_loads_the_starter_templates_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    starters = json.loads(CONTENT_FILE.read_text(encoding="utf-8"))
    assert len(starters) == 3
    async with app.state.sessionmaker() as session, session.begin():
        counts = await seed(session)
    assert counts["repair_templates"] == 3 and counts["repair_templates_unchanged"] == 0

    curator = await make_user(role=Role.curator)
    listed = await client.get(TEMPLATES, headers=curator.headers(ADMIN))
    slug, tid = listed.json()["data"][0]["slug"], listed.json()["data"][0]["id"]
    assert all(t["status"] == "published" for t in listed.json()["data"])
    assert all(t["published_version"] == 1 for t in listed.json()["data"])
    edited = await patch(client, curator, tid, {"title": "Edited by a curator"})
    assert edited.status_code == 200

    async with app.state.sessionmaker() as session, session.begin():
        again = await seed_templates(session)
    assert again == {
        "repair_templates": 0,
        "repair_templates_unchanged": 3,
        "repair_template_translations_added": 0,
    }
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(RepairTemplate)) == 3
        assert await session.scalar(select(func.count()).select_from(RepairTemplateVersion)) == 3
        title = await session.scalar(
            select(RepairTemplate.title).where(RepairTemplate.slug == slug)
        )
    assert title == "Edited by a curator"
    member = await make_user()
    seen = {t["slug"]: t for t in await member_templates(client, member)}
    assert set(seen) == {t["slug"] for t in starters}
    for starter in starters:
        phases = seen[starter["slug"]]["phases"]
        assert [p["key"] for p in phases] == ["atone", "attune", "attach"]
        assert phases == [
            {**p, "steps": [{"description": "", **s} for s in p["steps"]]}
            for p in starter["phases"]
        ]


def test_an_invalid_template_file_names_every_problem() -> None:
    raw = json.dumps(
        [
            {"slug": "ok", "title": "Fine", "roles": ["mutual"], "phases": PHASES[1:]},
            {"slug": "Not A Slug", "title": "", "roles": ["hurt"], "phases": []},
        ]
    ).encode()
    with pytest.raises(InvalidTemplateFile) as caught:
        parse_template_file(raw, source="repair_templates.json")
    pointers = {error["pointer"] for error in caught.value.extra["errors"]}
    assert {"#/1/slug", "#/1/title", "#/1/roles", "#/1/phases"} <= pointers
    assert not any(pointer.startswith("#/0") for pointer in pointers)


async def test_members_see_the_published_template_never_the_draft_and_cannot_move_it(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator, member = await make_user(role=Role.curator), await make_user()
    reviewer = await make_user(role=Role.admin)
    tid = (await create(client, curator, phases=PHASES))["id"]
    assert (await move(client, curator, tid, "submit")).status_code == 200
    assert (await move(client, reviewer, tid, "publish")).status_code == 200
    renamed = await patch(client, curator, tid, {"title": "Unpublished wording"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["status"] == "draft"
    [seen] = await member_templates(client, member)
    assert seen["title"] == "After a lie"
    one = await client.get(f"/v1/repair-templates/{tid}", headers=member.headers("repair:read"))
    assert "Unpublished wording" not in one.text
    for action in ("submit", "archive"):
        refused = await move(client, member, tid, action)
        assert refused.status_code == 403, action
        assert refused.json()["type"] == "/problems/not-a-curator"
    current = await client.get(f"{TEMPLATES}/{tid}", headers=curator.headers(ADMIN))
    assert current.json()["status"] == "draft"
    stale = await client.post(
        f"{TEMPLATES}/{tid}/submit", headers={**curator.headers(ADMIN), "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    returned = await client.post(
        f"{TEMPLATES}/{tid}/return", json={"comment": "x"}, headers=curator.headers(ADMIN)
    )
    assert returned.status_code == 409
    assert returned.json()["allowed_transitions"] == ["submit", "archive"]
