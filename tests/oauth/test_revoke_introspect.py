"""Revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from app.services.clients import RegisteredClient
from tests.conftest import PUBLIC_URL, MakeUser
from tests.oauth.flow import exchange, obtain_code


@pytest.fixture
async def tokens(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> dict[str, str]:
    ann = await make_user()
    grant = await obtain_code(client, "rapport-mobile", ann.user.email, ann.password)
    body: dict[str, str] = (await exchange(client, grant, "rapport-mobile")).json()
    return body


def _auth(registered: RegisteredClient) -> tuple[str, str]:
    return registered.client.client_id, registered.secret or ""


async def test_introspecting_an_access_token(
    client: httpx.AsyncClient,
    tokens: dict[str, str],
    resource_server: RegisteredClient,
    app: FastAPI,
) -> None:
    response = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, auth=_auth(resource_server)
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = app.state.tokens.verify(tokens["access_token"])
    assert body == {
        "active": True,
        "scope": "profile",
        "client_id": "rapport-mobile",
        "sub": claims.subject,
        "exp": claims.expires_at,
        "iat": claims.issued_at,
        "iss": PUBLIC_URL,
        "token_type": "Bearer",
    }


@pytest.mark.parametrize("token", ["unknown-token", "a.b.c", ""])
async def test_unknown_tokens_are_inactive(
    client: httpx.AsyncClient, resource_server: RegisteredClient, token: str
) -> None:
    response = await client.post(
        "/oauth/introspect", data={"token": token}, auth=_auth(resource_server)
    )
    if token:
        assert response.json() == {"active": False}
    else:
        assert response.json()["error"] == "invalid_request"


async def test_expired_access_tokens_are_inactive(
    client: httpx.AsyncClient, partner: RegisteredClient, app: FastAPI
) -> None:
    expired, _ = app.state.tokens.issue(
        subject="therapy-platform",
        client_id="therapy-platform",
        scope="",
        now=int(time.time()) - 3600,
    )
    response = await client.post("/oauth/introspect", data={"token": expired}, auth=_auth(partner))
    assert response.json() == {"active": False}


async def test_a_client_introspects_its_own_tokens_only(
    client: httpx.AsyncClient, tokens: dict[str, str], partner: RegisteredClient
) -> None:
    own = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=_auth(partner)
    )
    mine = await client.post(
        "/oauth/introspect", data={"token": own.json()["access_token"]}, auth=_auth(partner)
    )
    assert mine.json()["active"] is True and mine.json()["sub"] == "therapy-platform"
    for token in (tokens["access_token"], tokens["refresh_token"]):
        foreign = await client.post("/oauth/introspect", data={"token": token}, auth=_auth(partner))
        assert foreign.json() == {"active": False}


async def test_introspection_needs_a_confidential_client(
    client: httpx.AsyncClient, tokens: dict[str, str], partner: RegisteredClient
) -> None:
    public = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"], "client_id": "rapport-mobile"}
    )
    assert public.status_code in (400, 401) and public.json()["error"] == "invalid_client"
    anonymous = await client.post("/oauth/introspect", data={"token": tokens["access_token"]})
    assert anonymous.json()["error"] == "invalid_client"
    wrong = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, auth=("therapy-platform", "x")
    )
    assert wrong.status_code == 401


async def test_revoking_unknown_or_access_tokens_answers_200(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    for token, hint in (
        ("never-issued", "refresh_token"),
        (tokens["access_token"], "access_token"),
    ):
        response = await client.post(
            "/oauth/revoke",
            data={"token": token, "token_type_hint": hint, "client_id": "rapport-mobile"},
        )
        assert response.status_code == 200
    # A revoked access token stops at once (tests/test_revocation.py covers the causes).
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401


async def test_revoking_a_refresh_token_with_a_misleading_hint(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    response = await client.post(
        "/oauth/revoke",
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "access_token",
            "client_id": "rapport-mobile",
        },
    )
    assert response.status_code == 200
    again = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "rapport-mobile",
        },
    )
    assert again.json()["error"] == "invalid_grant"


async def test_a_client_cannot_revoke_another_clients_token(
    client: httpx.AsyncClient, tokens: dict[str, str], partner: RegisteredClient
) -> None:
    response = await client.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"]}, auth=_auth(partner)
    )
    assert response.status_code == 400
    still = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "rapport-mobile",
        },
    )
    assert still.status_code == 200


async def test_a_confidential_client_must_authenticate_to_revoke(
    client: httpx.AsyncClient, partner: RegisteredClient
) -> None:
    response = await client.post(
        "/oauth/revoke", data={"token": "x", "client_id": "therapy-platform"}
    )
    assert response.json()["error"] == "invalid_client"
