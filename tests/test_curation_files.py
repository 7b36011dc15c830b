"""Library files: exporting a library, and importing one whole or not at all."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry, Prompt, PromptLibrary, PromptVersion, Role
from tests.conftest import MakeUser
from tests.curation_support import (
    ADMIN,
    LIBRARIES,
    add_prompt,
    create_library,
)


async def _row_counts(db: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in (PromptLibrary, Prompt, PromptVersion, AuditEntry):
        counts[model.__name__] = await db.scalar(select(func.count()).select_from(model)) or 0
    await db.commit()
    return counts


async def test_a_bad_import_is_refused_whole_with_pointers(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    curator = await make_user(role=Role.curator)
    await create_library(client, curator, slug="existing")
    before = await _row_counts(db)
    good = {"key": "ok", "text": "Fine?", "category": "play", "depth": 1}
    document = {
        "slug": "imported",
        "title": "Imported",
        "locale": "en",
        "prompts": [
            good,
            {**good, "key": "deep", "depth": 5},
            {**good, "key": "ok"},
            {**good, "key": "tagged", "tags": ["Upper"], "kind": "lecture"},
            {**good, "key": "strange", "extra": True},
        ],
    }
    response = await client.post(
        f"{LIBRARIES}/import", json=document, headers=curator.headers(ADMIN)
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/invalid-library-file"
    assert response.headers["content-type"].startswith("application/problem+json")
    pointers = {e["pointer"] for e in problem["errors"]}
    assert pointers == {
        "#/prompts/1/depth",
        "#/prompts/2/key",
        "#/prompts/3/tags/0",
        "#/prompts/3/kind",
        "#/prompts/4/extra",
    }
    assert await _row_counts(db) == before

    not_json = await client.post(
        f"{LIBRARIES}/import",
        content=b"{not json",
        headers={**curator.headers(ADMIN), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    assert not_json.json()["errors"][0]["pointer"] == "#"
    taken = await client.post(
        f"{LIBRARIES}/import",
        json={**document, "slug": "existing", "prompts": [good]},
        headers=curator.headers(ADMIN),
    )
    assert taken.status_code == 409
    assert await _row_counts(db) == before


async def test_export_then_import_round_trips(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    lid = (await create_library(client, curator, description="For new couples."))["id"]
    await add_prompt(
        client,
        curator,
        lid,
        "What helps you feel heard?",
        key="heard",
        category="listen",
        listener_guidance="Reflect back, don't fix.",
        tags=["listening"],
        stages=["new"],
        sensitive=True,
        kind="exercise",
    )
    await add_prompt(client, curator, lid, "Dance in the kitchen.", key="dance", category="play")
    gone = await add_prompt(client, curator, lid, "Removed soon.", key="gone")
    await client.delete(f"/v1/admin/prompts/{gone['id']}", headers=curator.headers(ADMIN))

    exported = await client.get(f"{LIBRARIES}/{lid}/export", headers=curator.headers(ADMIN))
    assert exported.status_code == 200
    assert "first-steps.json" in exported.headers["content-disposition"]
    document = exported.json()
    assert set(document) >= {"slug", "title", "description", "locale", "stages", "prompts"}
    assert [p["key"] for p in document["prompts"]] == ["heard", "dance"]
    assert set(document["prompts"][0]) == {
        "key",
        "text",
        "category",
        "depth",
        "kind",
        "listener_guidance",
        "tags",
        "stages",
        "sensitive",
        "translations",
    }

    imported = await client.post(
        f"{LIBRARIES}/import",
        content=json.dumps({**document, "slug": "first-steps-copy"}),
        headers={**curator.headers(ADMIN), "Content-Type": "application/json"},
    )
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert copy["status"] == "draft"
    assert imported.headers["Location"] == f"{LIBRARIES}/{copy['id']}"
    again = await client.get(f"{LIBRARIES}/{copy['id']}/export", headers=curator.headers(ADMIN))
    assert again.json() == {**document, "slug": "first-steps-copy"}
