"""Scopes a client may not have are refused (RFC 6749 §3.3), never silently dropped.

Policy under test:
- a scope the client is not registered for (or an unknown scope) answers `invalid_scope`,
  before anyone signs in, on the authorization endpoint and on the token endpoint;
- what a person's role does not permit is left out (a partial grant), and the token
  response's `scope` says exactly what was granted;
- curators and admins use a client registered for `admin:content` (and `admin:users`).
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.oauth import AuthorizationCode
from app.models.users import Role
from app.services.clients import RegisteredClient
from tests.conftest import MakeUser
from tests.oauth.conftest import _register
from tests.oauth.flow import (
    PRIVATE_REDIRECT,
    authorize_url,
    exchange,
    obtain_code,
    pkce_pair,
    query_of,
    refresh,
    sign_in,
)

ADMIN_REDIRECT = "https://admin.example/oauth/callback"


@pytest.fixture
async def admin_console(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    """What `rapport create-client --scope profile --scope admin:content ...` registers."""
    return await _register(
        sessionmaker,
        name="Rapport admin",
        redirect_uris=[ADMIN_REDIRECT],
        scopes=["profile", "admin:content", "admin:users"],
        confidential=False,
        client_id="rapport-admin",
    )


async def _codes(db: AsyncSession) -> int:
    count = await db.scalar(select(func.count()).select_from(AuthorizationCode))
    await db.rollback()
    return int(count or 0)


async def test_the_mobile_app_asking_for_admin_content_gets_invalid_scope(
    client: httpx.AsyncClient, first_party_client: object, db: AsyncSession
) -> None:
    _, challenge = pkce_pair()
    url = authorize_url("rapport-mobile", challenge, scope="profile admin:content")
    response = await client.get(url)

    # Refused at once, to the app's redirect URI: nobody is asked to sign in for it.
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(PRIVATE_REDIRECT + "?")
    params = query_of(location)
    assert params["error"] == "invalid_scope" and params["state"] == "s-123"
    assert "admin:content" in params["error_description"]
    assert "profile" not in params["error_description"]
    assert params["iss"] == "http://rapport.test"
    assert "code" not in params
    assert await _codes(db) == 0


async def test_a_signed_in_admin_on_the_mobile_app_is_refused_too(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object, db: AsyncSession
) -> None:
    admin = await make_user(role=Role.admin)
    await sign_in(client, admin.user.email, admin.password)
    _, challenge = pkce_pair()
    response = await client.get(
        authorize_url("rapport-mobile", challenge, scope="profile admin:content")
    )
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == "invalid_scope"
    assert await _codes(db) == 0


async def test_an_unknown_scope_is_named_in_the_error(
    client: httpx.AsyncClient, first_party_client: object
) -> None:
    _, challenge = pkce_pair()
    response = await client.get(authorize_url("rapport-mobile", challenge, scope="read:all"))
    params = query_of(response.headers["location"])
    assert params["error"] == "invalid_scope" and "read:all" in params["error_description"]


async def test_the_mobile_app_still_gets_member_scopes(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    grant = await obtain_code(
        client, "rapport-mobile", ann.user.email, ann.password, scope="profile couple:read"
    )
    tokens = (await exchange(client, grant, "rapport-mobile")).json()
    assert tokens["scope"] == "profile couple:read"


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        (Role.curator, "profile admin:content"),
        (Role.admin, "profile admin:content"),
        (Role.member, "profile"),
    ],
)
async def test_curators_and_admins_sign_in_through_an_admin_client(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    admin_console: RegisteredClient,
    role: Role,
    granted: str,
) -> None:
    person = await make_user(role=role)
    grant = await obtain_code(
        client,
        "rapport-admin",
        person.user.email,
        person.password,
        redirect_uri=ADMIN_REDIRECT,
        scope="profile admin:content",
    )
    response = await exchange(client, grant, "rapport-admin")
    assert response.status_code == 200, response.text
    tokens = response.json()
    # A member's grant is partial: the response says what was granted, and so does the token.
    assert tokens["scope"] == granted
    claims = app.state.tokens.verify(tokens["access_token"])
    assert claims.scopes == frozenset(granted.split())

    libraries = await client.get(
        "/v1/admin/libraries", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert libraries.status_code == (403 if role is Role.member else 200), libraries.text

    # The refresh keeps the grant; it never widens it.
    renewed = await refresh(client, tokens["refresh_token"], "rapport-admin")
    assert renewed.status_code == 200 and renewed.json()["scope"] == granted


async def test_an_admin_client_cannot_ask_for_what_it_is_not_registered_for(
    client: httpx.AsyncClient, admin_console: RegisteredClient
) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(
        "rapport-admin", challenge, redirect_uri=ADMIN_REDIRECT, scope="profile journal:read"
    )
    params = query_of((await client.get(url)).headers["location"])
    assert params["error"] == "invalid_scope" and "journal:read" in params["error_description"]


async def test_client_credentials_beyond_the_registration_are_refused(
    client: httpx.AsyncClient, partner: RegisteredClient
) -> None:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "prompts:read admin:users"},
        auth=("therapy-platform", partner.secret or ""),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_scope" and "admin:users" in body["error_description"]
    assert "access_token" not in body
