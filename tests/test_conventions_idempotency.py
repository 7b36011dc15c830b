"""Idempotency-Key on POST (app.core.idempotency), on real endpoints and on test routes."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.idempotency_store import (
    purge_expired,
)
from app.models import Event, IdempotencyRecord, User
from app.models.base import utcnow
from tests.conftest import DEFAULT_PASSWORD, MakeUser
from tests.idempotency_support import count, keyed

SIGN_UP = {"email": "ann@example.org", "password": "correct horse battery", "display_name": "Ann"}
NEW_PASSWORD = {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase"}


# --- replays on the real endpoints ---------------------------------------------------------


async def test_a_retried_sign_up_replays_the_first_response_and_creates_one_account(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post("/v1/users", json=SIGN_UP, headers=keyed("sign-up-1"))
    again = await client.post("/v1/users", json=SIGN_UP, headers=keyed("sign-up-1"))
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    for header in ("location", "etag", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await count(sessionmaker, User) == 1
    assert await count(sessionmaker, Event, Event.type == "user.created") == 1


async def test_the_same_json_spelled_differently_is_the_same_request(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    respelled = json.dumps(dict(reversed(SIGN_UP.items())), indent=2)
    again = await client.post(
        "/v1/users", content=respelled, headers=keyed("k", {"Content-Type": "application/json"})
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


async def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))).status_code == 201
    other = await client.post(
        "/v1/users", json={**SIGN_UP, "email": "bob@example.org"}, headers=keyed("k")
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    problem = other.json()
    assert problem["type"] == "/problems/idempotency-key-reused"
    assert problem["errors"] == [
        {"header": "Idempotency-Key", "detail": "was used for another request"}
    ]
    assert "x-request-id" in other.headers
    assert await count(sessionmaker, User) == 1
    assert await count(sessionmaker, IdempotencyRecord) == 1


async def test_the_same_key_on_another_path_is_another_request(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("k", ann.headers("profile"))
    )
    elsewhere = await client.post(
        "/v1/users", json=NEW_PASSWORD, headers=keyed("k", ann.headers("profile"))
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["type"] == "/problems/idempotency-key-reused"


async def test_a_replayed_password_change_does_not_change_it_twice(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    headers = keyed("change-1", ann.headers("profile"))
    first = await client.post("/v1/me/password", json=NEW_PASSWORD, headers=headers)
    # The change revoked the token that made it: a replay needs a token issued since.
    revoked = await client.post("/v1/me/password", json=NEW_PASSWORD, headers=headers)
    assert revoked.status_code == 401
    headers = keyed("change-1", ann.headers("profile"))
    again = await client.post("/v1/me/password", json=NEW_PASSWORD, headers=headers)
    assert first.status_code == again.status_code == 204
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == b""
    assert await count(sessionmaker, Event, Event.type == "user.password_changed") == 1
    # Without the key the request runs again, and the old password no longer works.
    unkeyed = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=ann.headers("profile")
    )
    assert unkeyed.status_code == 422


async def test_callers_do_not_share_keys(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann, bob = await make_user(), await make_user()
    as_ann = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("shared", ann.headers("profile"))
    )
    as_bob = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("shared", bob.headers("profile"))
    )
    # The same person through another app is another caller too.
    as_ann_elsewhere = await client.post(
        "/v1/me/password",
        json={"current_password": "a brand new passphrase", "new_password": DEFAULT_PASSWORD},
        headers=keyed("shared", ann.headers("profile", client_id="partner-app")),
    )
    anonymous = await client.post("/v1/users", json=SIGN_UP, headers=keyed("shared"))
    for response in (as_ann, as_bob, as_ann_elsewhere):
        assert response.status_code == 204
        assert "idempotent-replayed" not in response.headers
    assert anonymous.status_code == 201
    assert await count(sessionmaker, Event, Event.type == "user.password_changed") == 3
    assert await count(sessionmaker, IdempotencyRecord, IdempotencyRecord.key == "shared") == 4


async def test_client_errors_are_stored_and_replayed(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user(email=SIGN_UP["email"])
    first = await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    again = await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    assert first.status_code == again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json() == first.json()


async def test_a_refusal_of_the_token_releases_the_key(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    narrow = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("k", ann.headers("couple:read"))
    )
    assert narrow.status_code == 403
    granted = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("k", ann.headers("profile"))
    )
    assert granted.status_code == 204
    assert "idempotent-replayed" not in granted.headers


async def test_an_expired_key_counts_as_absent(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))).status_code == 201
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    other = await client.post(
        "/v1/users", json={**SIGN_UP, "email": "bob@example.org"}, headers=keyed("k")
    )
    assert other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert await count(sessionmaker, User) == 2


async def test_the_ttl_comes_from_the_settings(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    async with sessionmaker() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.caller == "anonymous"
    assert record.completed_at is not None
    ttl = record.expires_at - record.created_at
    assert ttl == timedelta(seconds=app.state.settings.idempotency_ttl_seconds)


async def test_purging_removes_only_expired_records(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await client.post("/v1/users", json=SIGN_UP, headers=keyed("old"))
    await client.post("/v1/users", json={**SIGN_UP, "email": "b@example.org"}, headers=keyed("new"))
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    async with sessionmaker() as session, session.begin():
        assert await purge_expired(session) == 1
    async with sessionmaker() as session:
        assert list(await session.scalars(select(IdempotencyRecord.key))) == ["new"]


@pytest.mark.parametrize(
    "value",
    [b"", b"x" * 256, "ключ".encode(), "clé".encode("latin-1"), b"tab\there"],
    ids=["empty", "too-long", "utf-8", "latin-1", "control-character"],
)
async def test_an_invalid_key_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], value: bytes
) -> None:
    response = await client.post("/v1/users", json=SIGN_UP, headers={b"Idempotency-Key": value})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/invalid-idempotency-key"
    assert problem["errors"][0]["header"] == "Idempotency-Key"
    assert await count(sessionmaker, User) == 0


async def test_two_keys_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/users", json=SIGN_UP, headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    )
    assert response.status_code == 422


async def test_the_longest_key_and_printable_punctuation_are_accepted(
    client: httpx.AsyncClient,
) -> None:
    for key in ("k" * 255, "~!@#$%^&*()_+{}|:<>? with spaces"):
        response = await client.post(
            "/v1/users", json={**SIGN_UP, "email": f"{len(key)}@example.org"}, headers=keyed(key)
        )
        assert response.status_code == 201, response.text


async def test_other_methods_and_oauth_endpoints_ignore_the_header(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    read = await client.get("/v1/me", headers=keyed("", ann.headers("profile")))
    assert read.status_code == 200
    oauth = await client.post("/oauth/not-a-route", headers=keyed(""))
    assert oauth.status_code == 404


# --- the published schema -------------------------------------------------------------------


def test_every_post_declares_the_header_and_its_problems(app: FastAPI) -> None:
    schema = app.openapi()
    sign_up = schema["paths"]["/v1/users"]["post"]
    header = next(p for p in sign_up["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert header["required"] is False
    assert header["schema"]["maxLength"] == 255
    assert "Idempotency-Key" in sign_up["responses"]["409"]["description"]
    assert "already registered" in sign_up["responses"]["409"]["description"]
    assert "Idempotency-Key" in sign_up["responses"]["422"]["description"]
    assert "Idempotent-Replayed" in sign_up["responses"]["201"]["headers"]
    for path, item in schema["paths"].items():
        if "post" in item and not path.startswith("/oauth/"):
            names = [p["name"] for p in item["post"].get("parameters", [])]
            assert names.count("Idempotency-Key") == 1, path
        for method, operation in item.items():
            if method != "post":
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" not in names, (method, path)
