"""The public vocabularies of emotions and needs, and the validation they back."""

from __future__ import annotations

import json

import httpx
import pytest

from app.services import vocabularies
from app.services.vocabularies import VOCABULARY_DIR, UnknownTerms, check_terms

PATHS = ("/v1/vocabularies/emotions", "/v1/vocabularies/needs")


@pytest.mark.parametrize("path", PATHS)
async def test_served_without_a_token_with_a_strong_etag_and_caching(
    client: httpx.AsyncClient, path: str
) -> None:
    first = await client.get(path)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=3600"
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=3600"
    stale = await client.get(path, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200
    assert stale.json() == first.json()


async def test_emotions_match_the_content_file(client: httpx.AsyncClient) -> None:
    served = (await client.get("/v1/vocabularies/emotions")).json()
    stored = json.loads((VOCABULARY_DIR / "emotions.json").read_text(encoding="utf-8"))
    assert served == {**stored, "locale": "en", "fallback": False}
    families = {family["key"] for family in served["families"]}
    assert {"mad", "sad", "scared", "joyful", "powerful", "peaceful"} <= families
    term = served["families"][0]["terms"][0]
    assert set(term) == {"key", "label", "valence"}


async def test_needs_match_the_content_file(client: httpx.AsyncClient) -> None:
    served = (await client.get("/v1/vocabularies/needs")).json()
    stored = json.loads((VOCABULARY_DIR / "needs.json").read_text(encoding="utf-8"))
    assert served == {**stored, "locale": "en", "fallback": False}
    need = served["categories"][0]["needs"][0]
    assert set(need) == {"key", "label", "description"}


def test_the_vocabularies_are_loaded_once() -> None:
    assert vocabularies.emotions() is vocabularies.emotions()
    assert vocabularies.needs() is vocabularies.needs()
    assert "connection.reassurance" in vocabularies.need_keys()
    assert "mad.frustrated" in vocabularies.emotion_keys()


def test_unknown_keys_are_named_with_their_position() -> None:
    assert vocabularies.unknown_emotions(["mad.frustrated", "mad.hangry", "sad"]) == [
        (1, "mad.hangry"),
        (2, "sad"),
    ]
    assert vocabularies.unknown_needs(["connection.reassurance"]) == []
    with pytest.raises(UnknownTerms) as raised:
        check_terms(emotions=["mad.frustrated", "nope"], needs=["connection.nope"])
    errors = raised.value.extra["errors"]
    assert [e["pointer"] for e in errors] == ["#/emotions/1", "#/needs/0"]
    assert "'nope'" in errors[0]["detail"]
