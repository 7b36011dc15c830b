"""Curating translations: drafts per prompt version, live with the library's next publication
(reviewed by someone else), carried to a prompt's new version, and refused to members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.models.users import Role
from tests.conftest import MakeUser, Person
from tests.curation_support import (
    ADMIN,
    LIBRARIES,
    READ,
    add_prompt,
    create_library,
    patch,
    publish,
)


def translations_url(prompt_id: str, language: str = "") -> str:
    tail = f"/{language}" if language else ""
    return f"/v1/admin/prompts/{prompt_id}/translations{tail}"


async def translate(
    client: httpx.AsyncClient, curator: Person, prompt_id: str, language: str, text: str
) -> httpx.Response:
    return await client.put(
        translations_url(prompt_id, language),
        json={"text": text, "listener_guidance": f"{language} guidance"},
        headers=curator.headers(ADMIN),
    )


async def seen(client: httpx.AsyncClient, member: Person, language: str) -> list[dict[str, Any]]:
    headers = {**member.headers(READ), "Accept-Language": language}
    response = await client.get("/v1/prompts", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Desk:
    """A published library of one prompt, its curator, a second curator who reviews, and a
    member who reads."""

    curator: Person
    reviewer: Person
    member: Person
    library: str
    prompt: str


@pytest.fixture
async def desk(client: httpx.AsyncClient, make_user: MakeUser) -> Desk:
    curator, reviewer = await make_user(role=Role.curator), await make_user(role=Role.curator)
    library = (await create_library(client, curator, slug="talk"))["id"]
    prompt = (await add_prompt(client, curator, library, "What made you laugh today?"))["id"]
    await publish(client, curator, library, reviewer=reviewer)
    return Desk(curator, reviewer, await make_user(), library, prompt)


async def test_a_translation_goes_live_with_the_next_publication(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    curator, reviewer, member = desk.curator, desk.reviewer, desk.member
    library, prompt = desk.library, desk.prompt

    written = await translate(client, curator, prompt, "de", "Was hat dich heute lachen lassen?")
    assert written.status_code == 200, written.text
    (draft,) = written.json()["translations"]
    assert (draft["locale"], draft["status"]) == ("de", "draft")
    # The library is back to draft; members still read the published words.
    status = await client.get(f"{LIBRARIES}/{library}", headers=curator.headers(ADMIN))
    assert status.json()["status"] == "draft"
    (before,) = await seen(client, member, "de")
    assert (before["text"], before["fallback"]) == ("What made you laugh today?", True)

    await publish(client, curator, library, reviewer=reviewer)
    (after,) = await seen(client, member, "de")
    assert after["text"] == "Was hat dich heute lachen lassen?"
    assert (after["locale"], after["fallback"], after["listener_guidance"]) == (
        "de",
        False,
        "de guidance",
    )
    listed = await client.get(translations_url(prompt), headers=curator.headers(ADMIN))
    assert [(t["locale"], t["status"]) for t in listed.json()["translations"]] == [("de", "live")]

    # A better translation replaces the live one at the next publication, not before.
    await translate(client, curator, prompt, "de", "Worüber hast du heute gelacht?")
    listed = await client.get(translations_url(prompt), headers=curator.headers(ADMIN))
    assert [t["status"] for t in listed.json()["translations"]] == ["live", "draft"]
    assert (await seen(client, member, "de"))[0]["text"] == "Was hat dich heute lachen lassen?"
    await publish(client, curator, library, reviewer=reviewer)
    assert (await seen(client, member, "de"))[0]["text"] == "Worüber hast du heute gelacht?"


async def test_a_new_prompt_version_starts_with_the_translations(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    curator, reviewer, member = desk.curator, desk.reviewer, desk.member
    library, prompt = desk.library, desk.prompt
    await translate(client, curator, prompt, "es", "¿Qué te hizo reír hoy?")
    await publish(client, curator, library, reviewer=reviewer)

    changed = await patch(
        client, curator, f"/v1/admin/prompts/{prompt}", {"text": "What made you smile today?"}
    )
    assert changed.status_code == 200, changed.text
    listed = (await client.get(translations_url(prompt), headers=curator.headers(ADMIN))).json()
    assert listed["version_id"] == changed.json()["working"]["id"]
    assert [(t["locale"], t["status"]) for t in listed["translations"]] == [("es", "draft")]
    await translate(client, curator, prompt, "es", "¿Qué te hizo sonreír hoy?")
    await publish(client, curator, library, reviewer=reviewer)
    (shown,) = await seen(client, member, "es")
    assert (shown["version_id"], shown["text"]) == (
        changed.json()["working"]["id"],
        "¿Qué te hizo sonreír hoy?",
    )


async def test_a_draft_can_be_dropped_and_bad_translations_are_refused(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    curator, library, prompt = desk.curator, desk.library, desk.prompt
    same = await translate(client, curator, prompt, "en", "Same language")
    assert same.status_code == 422
    assert same.json()["type"].endswith("/translation-same-language")
    for language in ("DE", "de-CH", "german", "x"):
        refused = await translate(client, curator, prompt, language, "Hallo")
        assert refused.status_code == 422, language
    too_long = await client.put(
        translations_url(prompt, "de"), json={"text": "x" * 501}, headers=curator.headers(ADMIN)
    )
    assert too_long.status_code == 422
    missing = await client.delete(translations_url(prompt, "de"), headers=curator.headers(ADMIN))
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/translation-not-found")
    assert (await translate(client, curator, prompt, "de", "Hallo")).status_code == 200
    dropped = await client.delete(translations_url(prompt, "de"), headers=curator.headers(ADMIN))
    assert dropped.status_code == 204
    listed = await client.get(translations_url(prompt), headers=curator.headers(ADMIN))
    assert listed.json()["translations"] == []
    # Under review the library is locked: no translation changes it.
    await client.post(f"{LIBRARIES}/{library}/submit", headers=curator.headers(ADMIN))
    locked = await translate(client, curator, prompt, "de", "Hallo")
    assert locked.status_code == 409
    unknown = await translate(client, curator, "00000000-0000-0000-0000-000000000000", "de", "x")
    assert unknown.status_code == 404


async def test_members_and_apps_cannot_read_or_write_translations(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    curator, member, prompt = desk.curator, desk.member, desk.prompt
    await translate(client, curator, prompt, "de", "Entwurf")
    attempts = [
        ("GET", translations_url(prompt), member.headers(ADMIN)),
        ("PUT", translations_url(prompt, "de"), member.headers(ADMIN)),
        ("DELETE", translations_url(prompt, "de"), member.headers(ADMIN)),
        ("PUT", translations_url(prompt, "de"), curator.headers(READ)),
        ("GET", translations_url(prompt), {}),
    ]
    for method, url, headers in attempts:
        response = await client.request(method, url, json={"text": "Gekapert"}, headers=headers)
        assert response.status_code in (401, 403), (method, url, response.status_code)
    listed = await client.get(translations_url(prompt), headers=curator.headers(ADMIN))
    assert [t["text"] for t in listed.json()["translations"]] == ["Entwurf"]
    # A draft never reaches members.
    assert all(p["text"] != "Entwurf" for p in await seen(client, member, "de"))


async def test_a_library_title_and_description_in_other_languages(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    curator, reviewer, member, library = desk.curator, desk.reviewer, desk.member, desk.library
    url = f"{LIBRARIES}/{library}"
    body = {"translations": {"de": {"title": "Reden", "description": "Für jeden Tag."}}}
    changed = await patch(client, curator, url, body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["translations"] == body["translations"]
    bad = await patch(client, curator, url, {"translations": {"German": {"title": "x"}}})
    assert bad.status_code == 422
    headers = {**member.headers(READ), "Accept-Language": "de"}
    (before,) = (await client.get("/v1/libraries", headers=headers)).json()["data"]
    assert (before["title"], before["fallback"]) == ("First steps", True)
    await publish(client, curator, library, reviewer=reviewer)
    (after,) = (await client.get("/v1/libraries", headers=headers)).json()["data"]
    assert (after["title"], after["description"], after["locale"]) == (
        "Reden",
        "Für jeden Tag.",
        "de",
    )


async def _listed(client: httpx.AsyncClient, curator: Person, prompt: str) -> list[Any]:
    response = await client.get(translations_url(prompt), headers=curator.headers(ADMIN))
    assert response.status_code == 200, response.text
    return response.json()["translations"]  # type: ignore[no-any-return]


async def test_a_translation_of_changed_words_is_stale_until_written_again(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    curator, reviewer, member = desk.curator, desk.reviewer, desk.member
    library, prompt = desk.library, desk.prompt
    await translate(client, curator, prompt, "de", "Was hat dich heute lachen lassen?")
    await publish(client, curator, library, reviewer=reviewer)
    url = f"/v1/admin/prompts/{prompt}"

    # Another depth is not other words: the carried translation is still current.
    assert (await patch(client, curator, url, {"depth": 2})).status_code == 200
    assert [t["stale"] for t in await _listed(client, curator, prompt)] == [False]
    changed = await patch(client, curator, url, {"text": "What made you smile today?"})
    assert changed.status_code == 200, changed.text
    (carried,) = await _listed(client, curator, prompt)
    assert (carried["status"], carried["stale"]) == ("draft", True)

    # Published as it is, members read the new words in English rather than the old in German.
    await publish(client, curator, library, reviewer=reviewer)
    (shown,) = await seen(client, member, "de")
    assert (shown["text"], shown["locale"], shown["fallback"]) == (
        "What made you smile today?",
        "en",
        True,
    )
    assert [(t["status"], t["stale"]) for t in await _listed(client, curator, prompt)] == [
        ("draft", True)
    ]

    # Written again, even word for word, it is current, and live at the next publication.
    again = await translate(client, curator, prompt, "de", "Was hat dich heute lachen lassen?")
    assert [t["stale"] for t in again.json()["translations"]] == [False]
    await publish(client, curator, library, reviewer=reviewer)
    (shown,) = await seen(client, member, "de")
    assert (shown["locale"], shown["fallback"]) == ("de", False)


async def test_a_live_translation_can_be_withdrawn_at_the_next_publication(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    curator, reviewer, member = desk.curator, desk.reviewer, desk.member
    library, prompt = desk.library, desk.prompt
    withdraw = translations_url(prompt, "de") + "/withdraw"
    missing = await client.post(withdraw, headers=curator.headers(ADMIN))
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/live-translation-not-found"
    await translate(client, curator, prompt, "de", "Was hat dich heute lachen lassen?")
    await publish(client, curator, library, reviewer=reviewer)
    await translate(client, curator, prompt, "de", "Ein Entwurf, der nie live geht")

    # Only curators withdraw; members, apps without the admin scope and nobody cannot.
    for headers in (member.headers(ADMIN), curator.headers(READ), {}):
        refused = await client.post(withdraw, headers=headers)
        assert refused.status_code in (401, 403), refused.text
    withdrawn = await client.post(withdraw, headers=curator.headers(ADMIN))
    assert withdrawn.status_code == 200, withdrawn.text
    (live,) = withdrawn.json()["translations"]  # the draft went with it
    assert (live["status"], live["withdrawing"]) == ("live", True)
    # Until the next publication members still read it; then the prompt's own language.
    assert (await seen(client, member, "de"))[0]["locale"] == "de"
    await publish(client, curator, library, reviewer=reviewer)
    (shown,) = await seen(client, member, "de")
    assert (shown["text"], shown["fallback"]) == ("What made you laugh today?", True)
    assert await _listed(client, curator, prompt) == []
    gone = await client.post(withdraw, headers=curator.headers(ADMIN))
    assert gone.status_code == 404
