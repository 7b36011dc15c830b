"""Content in the reader's language: the starter libraries and vocabularies in German and
Spanish, `Accept-Language` before the profile's locale, `Content-Language`, the fallback
signal, and one prompt of the day for both partners, each reading it in their own language."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.seed import seed
from tests.conftest import MakeUser, Person
from tests.factories import DAILY_SCOPES, pair

TODAY = "/v1/couples/me/prompts/today"
READ = "prompts:read"


@pytest.fixture
async def starter(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        await seed(session)


async def set_locale(client: httpx.AsyncClient, person: Person, locale: str) -> None:
    current = await client.get("/v1/me", headers=person.headers("profile"))
    response = await client.patch(
        "/v1/me",
        json={"locale": locale},
        headers={**person.headers("profile"), "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


async def prompts(
    client: httpx.AsyncClient, person: Person, language: str | None, **query: Any
) -> httpx.Response:
    headers = person.headers(READ)
    if language is not None:
        headers["Accept-Language"] = language
    response = await client.get("/v1/prompts", params={"limit": 100, **query}, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _beyond_words(prompt: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prompt.items() if k not in ("text", "listener_guidance", "locale")}


@pytest.mark.usefixtures("starter")
async def test_the_starter_prompts_read_in_german_and_spanish(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    member = await make_user()
    english = (await prompts(client, member, None)).json()["data"]
    for language in ("de", "es"):
        response = await prompts(client, member, f"{language}-CH, en;q=0.5")
        assert response.headers["content-language"] == language
        assert "Accept-Language" in response.headers["vary"]
        translated = response.json()["data"]
        assert [p["version_id"] for p in translated] == [p["version_id"] for p in english]
        assert all(p["locale"] == language and p["fallback"] is False for p in translated)
        assert all(t["text"] != e["text"] for t, e in zip(translated, english, strict=True))
        # Only the words change: the prompt, its category, depth and tags stay.
        for t, e in zip(translated, english, strict=True):
            assert {
                k: v for k, v in t.items() if k not in ("text", "listener_guidance", "locale")
            } == {k: v for k, v in e.items() if k not in ("text", "listener_guidance", "locale")}
            assert (t["listener_guidance"] is None) == (e["listener_guidance"] is None)
    assert all(p["locale"] == "en" and p["fallback"] is False for p in english)


@pytest.mark.usefixtures("starter")
async def test_a_language_without_translation_falls_back_and_says_so(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    member = await make_user()
    english = (await prompts(client, member, "en")).json()["data"]
    french = await prompts(client, member, "fr")
    assert french.headers["content-language"] == "en"
    assert [p["text"] for p in french.json()["data"]] == [p["text"] for p in english]
    assert all(p["fallback"] is True for p in french.json()["data"])
    # The next language asked for wins over the library's own, still marked as a fallback.
    second = (await prompts(client, member, "fr, es;q=0.8")).json()["data"]
    assert all(p["locale"] == "es" and p["fallback"] is True for p in second)
    # Refused (q=0), malformed and wildcard ranges are no preference at all.
    for header in ("de;q=0, *", "!!, ;;", "*"):
        odd = (await prompts(client, member, header)).json()["data"]
        assert all(p["locale"] == "en" and p["fallback"] is False for p in odd), header


@pytest.mark.usefixtures("starter")
async def test_the_profile_locale_decides_when_the_request_names_no_language(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    member = await make_user()
    await set_locale(client, member, "de-AT")
    shown = await prompts(client, member, None)
    assert shown.headers["content-language"] == "de"
    assert shown.json()["data"][0]["locale"] == "de"
    # The header still wins over the profile.
    asked = await prompts(client, member, "es")
    assert asked.json()["data"][0]["locale"] == "es"


@pytest.mark.usefixtures("starter")
async def test_both_partners_get_the_same_prompt_each_in_their_language(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await set_locale(client, ann, "de")
    await pair(client, ann, bo)
    seen_by_ann = await client.get(TODAY, headers=ann.headers(*DAILY_SCOPES))
    seen_by_bo = await client.get(
        TODAY, headers={**bo.headers(*DAILY_SCOPES), "Accept-Language": "es-MX"}
    )
    assert seen_by_ann.status_code == seen_by_bo.status_code == 200
    mine, theirs = seen_by_ann.json()["prompt"], seen_by_bo.json()["prompt"]
    assert mine["version_id"] == theirs["version_id"]
    assert (mine["locale"], theirs["locale"]) == ("de", "es")
    assert mine["text"] != theirs["text"]
    assert seen_by_ann.headers["content-language"] == "de"
    assert seen_by_bo.headers["content-language"] == "es"
    # Each language is its own representation: its own ETag.
    assert seen_by_ann.headers["etag"] != seen_by_bo.headers["etag"]
    listed = await client.get(
        "/v1/couples/me/prompts", headers={**bo.headers(*DAILY_SCOPES), "Accept-Language": "de"}
    )
    assert listed.json()["data"][0]["prompt"]["text"] == mine["text"]
    answered = await client.put(
        f"/v1/couples/me/prompts/{seen_by_bo.json()['date']}/answer",
        json={"text": "Una respuesta"},
        headers={**bo.headers(*DAILY_SCOPES), "Accept-Language": "es"},
    )
    assert answered.json()["prompt"]["text"] == theirs["text"]
    history = await client.get(
        "/v1/me/answers", headers={**bo.headers(*DAILY_SCOPES), "Accept-Language": "es"}
    )
    assert history.json()["data"][0]["prompt"]["text"] == theirs["text"]
    assert history.headers["content-language"] == "es"


@pytest.mark.usefixtures("starter")
async def test_library_titles_read_in_the_readers_language(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    member = await make_user()
    headers = {**member.headers(READ), "Accept-Language": "de"}
    german = (await client.get("/v1/libraries", headers=headers)).json()["data"]
    english = (await client.get("/v1/libraries", headers=member.headers(READ))).json()["data"]
    assert [g["slug"] for g in german] == [e["slug"] for e in english]
    for mine, theirs in zip(german, english, strict=True):
        assert mine["locale"] == "de" and mine["title"] != theirs["title"]


@pytest.mark.usefixtures("starter")
async def test_the_locale_filter_finds_translated_prompts(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    member = await make_user()
    everything = (await prompts(client, member, None)).json()["data"]
    german = (await prompts(client, member, "de", locale="de")).json()["data"]
    assert len(german) == len(everything)
    assert (await prompts(client, member, None, locale="fr")).json()["data"] == []


@pytest.mark.parametrize("name", ["emotions", "needs"])
async def test_vocabularies_are_labelled_in_the_readers_language(
    client: httpx.AsyncClient, name: str
) -> None:
    url = f"/v1/vocabularies/{name}"
    english = await client.get(url)
    assert english.headers["content-language"] == "en"
    assert english.json()["locale"] == "en"
    for language in ("de", "es"):
        translated = await client.get(url, headers={"Accept-Language": language})
        assert translated.headers["content-language"] == language
        # A shared cache keeps one copy per language.
        assert "Accept-Language" in translated.headers["vary"]
        assert translated.headers["etag"] != english.headers["etag"]
        body = translated.json()
        assert (body["locale"], body["fallback"]) == (language, False)
        groups = "families" if name == "emotions" else "categories"
        entries = "terms" if name == "emotions" else "needs"
        for mine, theirs in zip(body[groups], english.json()[groups], strict=True):
            assert [e["key"] for e in mine[entries]] == [e["key"] for e in theirs[entries]]
        assert body[groups][0]["label"] != english.json()[groups][0]["label"]
    unknown = (await client.get(url, headers={"Accept-Language": "ja"})).json()
    assert (unknown["locale"], unknown["fallback"]) == ("en", True)


@pytest.mark.usefixtures("starter")
async def test_repair_templates_read_and_copy_in_the_readers_language(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    scopes = ("repair:read", "repair:write")
    english = (await client.get("/v1/repair-templates", headers=ann.headers(*scopes))).json()
    german = await client.get(
        "/v1/repair-templates", headers={**ann.headers(*scopes), "Accept-Language": "de"}
    )
    assert german.headers["content-language"] == "de"
    for mine, theirs in zip(german.json()["data"], english["data"], strict=True):
        assert (mine["locale"], mine["fallback"]) == ("de", False)
        assert mine["title"] != theirs["title"]
        assert [p["key"] for p in mine["phases"]] == [p["key"] for p in theirs["phases"]]
    template = german.json()["data"][0]
    proposed = await client.post(
        "/v1/couples/me/repair-plans",
        json={"template": template["slug"], "hurt_user_id": str(ann.id)},
        headers={**ann.headers(*scopes), "Accept-Language": "de"},
    )
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["title"] == template["title"]
