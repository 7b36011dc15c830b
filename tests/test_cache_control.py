"""`Cache-Control`: `no-store` wherever private writing may travel, `private` on the rest of a
person's data, and the endpoints' own choices (public vocabularies) left alone."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.core.cache_control import policy_for
from tests.conftest import MakeUser
from tests.factories import pair

EVERYTHING = ("profile", "couple:read", "checkins:read", "checkins:write", "journal:read")


@pytest.mark.parametrize(
    "path",
    ["/v1/checkins", "/v1/couples/me/checkins", "/v1/journal", "/v1/journal/tags"],
)
async def test_lists_of_private_writing_are_not_stored(
    client: httpx.AsyncClient, make_user: MakeUser, path: str
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    response = await client.get(path, headers=ann.headers(*EVERYTHING))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


async def test_single_private_items_and_their_changes_are_not_stored(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    headers = ann.headers(*EVERYTHING, "journal:write")
    created = await client.post(
        "/v1/checkins", json={"mood": 3, "note": "quiet day"}, headers=headers
    )
    assert created.headers["cache-control"] == "no-store"
    url = created.headers["location"]
    got = await client.get(url, headers=headers)
    assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
    not_modified = await client.get(url, headers={**headers, "If-None-Match": got.headers["etag"]})
    assert not_modified.status_code == 304
    assert not_modified.headers["cache-control"] == "no-store"
    changed = await client.patch(
        url, json={"mood": 4}, headers={**headers, "If-Match": got.headers["etag"]}
    )
    assert changed.status_code == 200 and changed.headers["cache-control"] == "no-store"
    entry = await client.post("/v1/journal", json={"body": "noticing"}, headers=headers)
    read = await client.get(entry.headers["location"], headers=headers)
    assert read.headers["cache-control"] == "no-store"
    # Even a refusal on these paths is kept by no cache.
    assert (await client.get("/v1/journal")).headers["cache-control"] == "no-store"


async def test_other_personal_data_is_private(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    for path in ("/v1/me", "/v1/me/connected-apps", "/v1/me/access-log"):
        response = await client.get(path, headers=ann.headers("profile"))
        assert response.status_code == 200, (path, response.text)
        assert response.headers["cache-control"] == "private", path


async def test_public_responses_keep_their_own_policy(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    anonymous = await client.get("/v1/vocabularies/emotions")
    with_token = await client.get("/v1/vocabularies/emotions", headers=ann.headers("profile"))
    assert anonymous.headers["cache-control"] == "public, max-age=3600"
    assert with_token.headers["cache-control"] == "public, max-age=3600"
    assert "cache-control" not in (await client.get("/healthz")).headers


async def test_an_idempotent_replay_is_not_stored_either(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    headers = {**ann.headers("profile", "couple:write"), "Idempotency-Key": "pair-once"}
    first = await client.post("/v1/couples", json={}, headers=headers)
    replay = await client.post("/v1/couples", json={}, headers=headers)
    assert first.status_code == replay.status_code == 201, first.text
    assert first.headers["cache-control"] == replay.headers["cache-control"] == "private"


def test_the_schema_declares_the_header_where_it_is_sent(app: FastAPI) -> None:
    schema = app.openapi()
    headers = schema["components"]["headers"]
    assert headers["CacheControlNoStore"]["schema"]["enum"] == ["no-store"]

    def declared(path: str, method: str, status: str) -> str | None:
        response = schema["paths"][path][method]["responses"][status]
        ref = response.get("headers", {}).get("Cache-Control", {}).get("$ref")
        return ref.rsplit("/", 1)[-1] if ref else None

    assert declared("/v1/journal", "get", "200") == "CacheControlNoStore"
    assert declared("/v1/checkins/{checkin_id}", "get", "200") == "CacheControlNoStore"
    assert declared("/v1/couples/me/checkins", "get", "200") == "CacheControlNoStore"
    assert declared("/v1/me/connected-apps", "get", "200") == "CacheControlPrivate"
    # The vocabularies set their own (`public, max-age=3600`); problems get the path's policy
    # too (the middleware sends it), declared without the promise of the successful ones.
    assert declared("/v1/vocabularies/emotions", "get", "200") == "CacheControlOwn"
    assert declared("/v1/journal", "get", "401") == "CacheControlNoStoreError"


def test_the_policy() -> None:
    assert policy_for("/v1/journalism", authenticated=True) == "private"
    assert policy_for("/v1/checkins/abc/reflections", authenticated=False) == "no-store"
    assert policy_for("/v1/me", authenticated=False) is None
    assert policy_for("/oauth/token", authenticated=True) is None
