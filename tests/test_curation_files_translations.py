"""Translations in library files: imported as drafts (live with the library's publication,
four eyes), validated like the API's, exported as the next publication would have them."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry, Prompt, PromptLibrary, PromptTranslation, PromptVersion, Role
from tests.conftest import MakeUser, Person
from tests.curation_support import ADMIN, LIBRARIES, add_prompt, create_library, move, publish

GOOD = {"key": "laugh", "text": "What made you laugh today?", "category": "play", "depth": 1}
DE = {"text": "Was hat dich heute lachen lassen?", "listener_guidance": "Lach mit."}


def document(**fields: Any) -> dict[str, Any]:
    return {
        "slug": "evenings",
        "title": "Evenings",
        "locale": "en-GB",
        "translations": {"de": {"title": "Abende", "description": "Für den Abend."}},
        "prompts": [{**GOOD, "translations": {"de": DE}}, {**GOOD, "key": "plain"}],
        **fields,
    }


async def import_file(
    client: httpx.AsyncClient, curator: Person, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{LIBRARIES}/import", json=body, headers=curator.headers(ADMIN))


async def counts(db: AsyncSession) -> dict[str, int]:
    found = {}
    for model in (PromptLibrary, Prompt, PromptVersion, PromptTranslation, AuditEntry):
        found[model.__name__] = await db.scalar(select(func.count()).select_from(model)) or 0
    await db.commit()
    return found


async def test_imported_translations_are_drafts_until_someone_else_publishes(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator, reviewer = await make_user(role=Role.curator), await make_user(role=Role.curator)
    imported = await import_file(client, curator, document())
    assert imported.status_code == 201, imported.text
    library = imported.json()
    assert library["translations"] == {"de": {"title": "Abende", "description": "Für den Abend."}}
    prompts = await client.get(f"{LIBRARIES}/{library['id']}", headers=curator.headers(ADMIN))
    by_key = {p["key"]: p["id"] for p in prompts.json()["prompts"]}
    url = f"/v1/admin/prompts/{by_key['laugh']}/translations"
    listed = (await client.get(url, headers=curator.headers(ADMIN))).json()["translations"]
    assert [(t["locale"], t["status"], t["stale"], t["text"]) for t in listed] == [
        ("de", "draft", False, DE["text"])
    ]
    assert listed[0]["created_by"] == str(curator.user.id)
    plain = f"/v1/admin/prompts/{by_key['plain']}/translations"
    assert (await client.get(plain, headers=curator.headers(ADMIN))).json()["translations"] == []

    exported = await client.get(
        f"{LIBRARIES}/{library['id']}/export", headers=curator.headers(ADMIN)
    )
    assert exported.json()["translations"] == document()["translations"]
    assert [p["translations"] for p in exported.json()["prompts"]] == [{"de": DE}, {}]

    await publish(client, curator, library["id"], reviewer=reviewer)
    listed = (await client.get(url, headers=curator.headers(ADMIN))).json()["translations"]
    assert [(t["locale"], t["status"]) for t in listed] == [("de", "live")]


async def test_an_invalid_translation_refuses_the_whole_file_with_pointers(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    curator = await make_user(role=Role.curator)
    before = await counts(db)
    bad = document(
        translations={"en": {"title": "Evenings"}, "German": {"title": "Abende"}},
        prompts=[
            {**GOOD, "translations": {"de": DE, "en": {"text": "Same?"}}},
            {**GOOD, "key": "long", "translations": {"de": {"text": "x" * 501}}},
            {**GOOD, "key": "empty", "translations": {"es": {"listener_guidance": "¿?"}}},
            {**GOOD, "key": "upper", "translations": {"DE": DE}},
            {**GOOD, "key": "extra", "translations": {"de": {**DE, "stale": True}}},
        ],
    )
    response = await import_file(client, curator, bad)
    assert response.status_code == 422, response.text
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {
        "#/translations/en",
        "#/prompts/0/translations/en",
        "#/prompts/1/translations/de/text",
        "#/prompts/2/translations/es/text",
        "#/prompts/4/translations/de/stale",
    } <= pointers
    assert any(p.startswith("#/translations/German") for p in pointers), pointers
    assert any(p.startswith("#/prompts/3/translations/DE") for p in pointers), pointers
    assert await counts(db) == before


async def test_export_gives_what_the_next_publication_puts_live(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator, reviewer = await make_user(role=Role.curator), await make_user(role=Role.curator)
    lid = (await create_library(client, curator, slug="talk"))["id"]
    kept = (await add_prompt(client, curator, lid, "What made you laugh?", key="kept"))["id"]
    gone = (await add_prompt(client, curator, lid, "What made you cry?", key="gone"))["id"]
    headers = curator.headers(ADMIN)
    for prompt, language in ((kept, "de"), (kept, "es"), (gone, "de")):
        written = await client.put(
            f"/v1/admin/prompts/{prompt}/translations/{language}",
            json={"text": f"{language} words"},
            headers=headers,
        )
        assert written.status_code == 200, written.text
    await publish(client, curator, lid, reviewer=reviewer)
    # A new draft of kept's Spanish, and German withdrawn from the other prompt.
    await client.put(
        f"/v1/admin/prompts/{kept}/translations/es", json={"text": "nuevas"}, headers=headers
    )
    await client.post(f"/v1/admin/prompts/{gone}/translations/de/withdraw", headers=headers)

    exported = (await client.get(f"{LIBRARIES}/{lid}/export", headers=headers)).json()
    by_key = {p["key"]: p["translations"] for p in exported["prompts"]}
    assert by_key == {
        "kept": {
            "de": {"text": "de words", "listener_guidance": None},
            "es": {"text": "nuevas", "listener_guidance": None},
        },
        "gone": {},
    }
    assert exported["translations"] == {}

    # Changed words: their (stale) drafts translate earlier words and are left out.
    current = await client.get(f"/v1/admin/prompts/{kept}", headers=headers)
    changed = await client.patch(
        f"/v1/admin/prompts/{kept}",
        json={"text": "What made you smile?"},
        headers={**headers, "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    exported = (await client.get(f"{LIBRARIES}/{lid}/export", headers=headers)).json()
    assert {p["key"]: p["translations"] for p in exported["prompts"]}["kept"] == {}

    copy = await import_file(client, curator, {**exported, "slug": "talk-copy"})
    assert copy.status_code == 201, copy.text
    assert (await move(client, curator, copy.json()["id"], "submit")).status_code == 200
