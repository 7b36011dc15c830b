"""The token endpoint: codes, PKCE, refresh rotation, client credentials, refused grants."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.base import utcnow
from app.models.oauth import AuthorizationCode, RefreshToken
from app.services.clients import RegisteredClient
from tests.conftest import MakeUser
from tests.oauth.flow import Grant, exchange, obtain_code, pkce_pair, refresh


@pytest.fixture
async def grant(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> Grant:
    ann = await make_user()
    return await obtain_code(client, "rapport-mobile", ann.user.email, ann.password)


async def test_a_wrong_verifier_is_refused(client: httpx.AsyncClient, grant: Grant) -> None:
    other_verifier, _ = pkce_pair()
    response = await exchange(client, grant, "rapport-mobile", code_verifier=other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["cache-control"] == "no-store"
    # A failed verifier does not burn the code: the real client can still redeem it.
    assert (await exchange(client, grant, "rapport-mobile")).status_code == 200


async def test_a_missing_verifier_is_refused(client: httpx.AsyncClient, grant: Grant) -> None:
    response = await exchange(client, grant, "rapport-mobile", code_verifier="")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_a_reused_code_is_refused_and_revokes_what_it_issued(
    client: httpx.AsyncClient, grant: Grant, db: AsyncSession
) -> None:
    first = await exchange(client, grant, "rapport-mobile")
    assert first.status_code == 200
    refreshed = await refresh(client, first.json()["refresh_token"], "rapport-mobile")
    assert refreshed.status_code == 200

    again = await exchange(client, grant, "rapport-mobile")
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    rows = (await db.scalars(select(RefreshToken))).all()
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    latest = refreshed.json()["refresh_token"]
    assert (await refresh(client, latest, "rapport-mobile")).json()["error"] == "invalid_grant"


async def test_a_password_change_spends_codes_not_yet_exchanged(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    pending = await obtain_code(client, "rapport-mobile", ann.user.email, ann.password)
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": ann.password, "new_password": "a brand new passphrase"},
        headers=ann.headers("profile"),
    )
    assert changed.status_code == 204
    late = await exchange(client, pending, "rapport-mobile")
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_an_expired_code_is_refused(
    client: httpx.AsyncClient, grant: Grant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await exchange(client, grant, "rapport-mobile")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_codes_are_stored_hashed_and_expire_quickly(grant: Grant, db: AsyncSession) -> None:
    row = await db.scalar(select(AuthorizationCode))
    assert row is not None and row.code_hash != grant.code and len(row.code_hash) == 64
    assert row.code_challenge_method == "S256"
    assert timedelta(0) < row.expires_at - utcnow() <= timedelta(seconds=120)


async def test_a_code_is_bound_to_its_client(
    client: httpx.AsyncClient, grant: Grant, third_party_app: RegisteredClient
) -> None:
    response = await exchange(client, grant, third_party_app.client.client_id)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_a_refresh_token_is_bound_to_its_client(
    client: httpx.AsyncClient, grant: Grant, third_party_app: RegisteredClient
) -> None:
    tokens = (await exchange(client, grant, "rapport-mobile")).json()
    stolen = await refresh(client, tokens["refresh_token"], third_party_app.client.client_id)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


async def test_a_refresh_may_narrow_the_scope_but_keeps_the_grant(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    grant = await obtain_code(
        client, "rapport-mobile", ann.user.email, ann.password, scope="profile couple:read"
    )
    tokens = (await exchange(client, grant, "rapport-mobile")).json()
    narrow = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "rapport-mobile",
            "scope": "profile",
        },
    )
    assert narrow.json()["scope"] == "profile"
    wide = await refresh(client, narrow.json()["refresh_token"], "rapport-mobile")
    assert wide.json()["scope"] == "profile couple:read"
    widen = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": wide.json()["refresh_token"],
            "client_id": "rapport-mobile",
            "scope": "profile journal:read",
        },
    )
    assert widen.json()["error"] == "invalid_scope"


async def test_client_credentials_for_a_confidential_client(
    client: httpx.AsyncClient, partner: RegisteredClient, app: FastAPI
) -> None:
    secret = partner.secret or ""
    basic = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "webhooks:manage"},
        auth=("therapy-platform", secret),
    )
    assert basic.status_code == 200, basic.text
    body = basic.json()
    assert body["scope"] == "webhooks:manage" and "refresh_token" not in body
    assert basic.headers["cache-control"] == "no-store"
    claims = app.state.tokens.verify(body["access_token"])
    assert claims.subject == "therapy-platform" and claims.user_id is None

    post = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "therapy-platform",
            "client_secret": secret,
        },
    )
    assert post.status_code == 200
    assert post.json()["scope"] == "profile prompts:read webhooks:manage"

    # A scope the client is not registered for refuses the request (RFC 6749 §3.3).
    beyond = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "webhooks:manage journal:read"},
        auth=("therapy-platform", secret),
    )
    assert beyond.status_code == 400 and beyond.json()["error"] == "invalid_scope"
    assert "journal:read" in beyond.json()["error_description"]
    assert "access_token" not in beyond.json()


@pytest.mark.parametrize("how", ["basic", "post"])
async def test_a_wrong_client_secret_is_refused(
    client: httpx.AsyncClient, partner: RegisteredClient, how: str
) -> None:
    data = {"grant_type": "client_credentials"}
    if how == "basic":
        response = await client.post("/oauth/token", data=data, auth=("therapy-platform", "wrong"))
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic ")
    else:
        data |= {"client_id": "therapy-platform", "client_secret": "wrong"}
        response = await client.post("/oauth/token", data=data)
        assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


async def test_a_confidential_client_must_authenticate(
    client: httpx.AsyncClient, partner: RegisteredClient
) -> None:
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "therapy-platform"}
    )
    assert response.json()["error"] == "invalid_client"


async def test_a_public_client_cannot_use_client_credentials(
    client: httpx.AsyncClient, first_party_client: object
) -> None:
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "rapport-mobile"}
    )
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:example:other", ""])
async def test_other_grant_types_are_refused(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object, grant_type: str
) -> None:
    ann = await make_user()
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": grant_type,
            "username": ann.user.email,
            "password": ann.password,
            "client_id": "rapport-mobile",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert "access_token" not in response.text


async def test_errors_use_the_oauth_format(client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) <= {"error", "error_description"}


async def test_me_rejects_expired_and_tampered_tokens(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    ann = await make_user()
    tokens = app.state.tokens
    expired, _ = tokens.issue(
        subject=str(ann.id),
        client_id="rapport-mobile",
        scope="profile",
        now=int(time.time()) - 3600,
    )
    header, payload, signature = ann.token("profile").split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    other, _ = tokens.issue(
        subject=str(ann.id), client_id="rapport-mobile", scope="profile admin:users"
    )
    swapped_payload = f"{header}.{other.split('.')[1]}.{signature}"
    for bad in (expired, f"{header}.{payload}.{forged_signature}", swapped_payload, "not-a-jwt"):
        response = await client.get("/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_two_concurrent_exchanges_of_one_code_issue_nothing_usable(
    client: httpx.AsyncClient, grant: Grant
) -> None:
    results = await asyncio.gather(*(exchange(client, grant, "rapport-mobile") for _ in range(2)))
    statuses = sorted(response.status_code for response in results)
    assert statuses == [200, 400]
    winner = next(response for response in results if response.status_code == 200)
    # The loser presented a used code, so what the winner got was revoked (RFC 6749 §4.1.2).
    replay = await refresh(client, winner.json()["refresh_token"], "rapport-mobile")
    assert replay.json()["error"] == "invalid_grant"


async def test_an_issued_access_token_is_verified_without_a_query(
    client: httpx.AsyncClient, grant: Grant, count_queries: Any
) -> None:
    access_token = (await exchange(client, grant, "rapport-mobile")).json()["access_token"]
    with count_queries() as counter:
        me = await client.get("/v1/me", headers={"Authorization": f"Bearer {access_token}"})
    assert me.status_code == 200
    assert counter.count == 1, counter.statements  # loading the profile itself
