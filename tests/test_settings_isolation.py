"""An app built with its own `Settings` uses its own secrets and costs, never the process-wide ones.

The session's app runs on the test settings (the development secret key); the app here gets
another secret key and other argon2 parameters, shares the database, and runs its own lifespan.
Every secret it applies must be its own: what it signs, the other app refuses.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.web import csrf_cookie, session_cookie, unsign
from app.config import Settings, get_settings
from app.core.pagination import InvalidCursor
from app.core.security import MEMBER_SCOPES
from app.main import create_app
from app.models.couples import Invite
from app.models.users import User
from app.services import sync_cursor
from app.services.couples import code_hash
from tests.conftest import PUBLIC_URL
from tests.oauth.flow import csrf_of

OWN_SECRET = "isolated-app-secret-key-not-the-default"
OWN_TIME_COST = 2
OWN_MEMORY_KIB = 16
PASSWORD = "a long enough passphrase"
MEMBER = " ".join(sorted(scope.value for scope in MEMBER_SCOPES))


@pytest.fixture
def own_settings(test_settings: Settings) -> Settings:
    settings = test_settings.model_copy(
        update={
            "secret_key": OWN_SECRET,
            "argon2_time_cost": OWN_TIME_COST,
            "argon2_memory_kib": OWN_MEMORY_KIB,
        }
    )
    # The point of the test: none of these is what the process would read by itself.
    process_wide = get_settings()
    assert process_wide.secret_key != OWN_SECRET
    assert test_settings.secret_key != OWN_SECRET
    assert (process_wide.argon2_time_cost, process_wide.argon2_memory_kib) != (
        OWN_TIME_COST,
        OWN_MEMORY_KIB,
    )
    return settings


@pytest.fixture
async def own_app(app: FastAPI, own_settings: Settings) -> AsyncIterator[FastAPI]:
    """The app under test; asking for `app` migrates the database and cleans it afterwards."""
    application = create_app(own_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def own(own_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=own_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


async def sign_up(own: httpx.AsyncClient, email: str) -> str:
    response = await own.post(
        "/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:3]}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def bearer(own_app: FastAPI, user_id: str) -> dict[str, str]:
    token, _ = own_app.state.tokens.issue(subject=user_id, client_id="rapport-mobile", scope=MEMBER)
    return {"Authorization": f"Bearer {token}"}


async def test_passwords_are_hashed_with_the_apps_own_argon2_parameters(
    own: httpx.AsyncClient, db: AsyncSession
) -> None:
    await sign_up(own, "ann@example.org")
    stored = await db.scalar(select(User.password_hash))
    assert stored is not None and stored.startswith("$argon2id$")
    assert f"$m={OWN_MEMORY_KIB},t={OWN_TIME_COST},p=1$" in stored


async def test_a_password_change_hashes_with_the_apps_own_parameters(
    own_app: FastAPI, own: httpx.AsyncClient, db: AsyncSession
) -> None:
    user_id = await sign_up(own, "ann@example.org")
    changed = await own.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers=bearer(own_app, user_id),
    )
    assert changed.status_code == 204, changed.text
    stored = await db.scalar(select(User.password_hash))
    assert stored is not None and f"$m={OWN_MEMORY_KIB},t={OWN_TIME_COST},p=1$" in stored


async def test_invite_codes_are_hashed_with_the_apps_own_secret_key(
    own_app: FastAPI,
    own: httpx.AsyncClient,
    client: httpx.AsyncClient,
    db: AsyncSession,
    test_settings: Settings,
) -> None:
    ann = await sign_up(own, "ann@example.org")
    bo = await sign_up(own, "bo@example.org")
    created = await own.post("/v1/couples", headers=bearer(own_app, ann))
    assert created.status_code == 201, created.text
    code = created.json()["invite"]["code"]

    stored = await db.scalar(select(Invite.code_hash))
    expected = hmac.new(OWN_SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
    assert stored == expected == code_hash(code, OWN_SECRET)
    assert stored != code_hash(code, test_settings.secret_key)
    await db.rollback()

    # Another app (another secret) cannot even find the invite; this one lets Bo join.
    elsewhere = await client.post(
        "/v1/couples/join", json={"code": code}, headers=bearer(own_app, bo)
    )
    assert elsewhere.status_code == 404, elsewhere.text
    joined = await own.post("/v1/couples/join", json={"code": code}, headers=bearer(own_app, bo))
    assert joined.status_code == 200, joined.text


async def test_page_cursors_are_signed_with_the_apps_own_secret_key(
    own_app: FastAPI, own: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    headers = bearer(own_app, await sign_up(own, "ann@example.org"))
    for mood in (2, 4):
        made = await own.post(
            "/v1/checkins", json={"mood": mood, "visibility": "private"}, headers=headers
        )
        assert made.status_code == 201, made.text
    first = await own.get("/v1/checkins", params={"limit": 1}, headers=headers)
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor

    page = {"limit": 1, "cursor": cursor}
    assert (await own.get("/v1/checkins", params=page, headers=headers)).status_code == 200
    refused = await client.get("/v1/checkins", params=page, headers=headers)
    assert refused.status_code == 422, refused.text


async def test_sync_cursors_are_signed_with_the_apps_own_secret_key(
    own_app: FastAPI, own: httpx.AsyncClient, client: httpx.AsyncClient, test_settings: Settings
) -> None:
    user_id = await sign_up(own, "ann@example.org")
    headers = bearer(own_app, user_id)
    feed = await own.get("/v1/sync", headers=headers)
    assert feed.status_code == 200, feed.text
    cursor = feed.json()["next_cursor"]

    owner = uuid.UUID(user_id)
    assert sync_cursor.decode_cursor(OWN_SECRET.encode(), owner, cursor).position.seq >= 0
    with pytest.raises(InvalidCursor):
        sync_cursor.decode_cursor(test_settings.secret_key.encode(), owner, cursor)
    again = await own.get("/v1/sync", params={"cursor": cursor}, headers=headers)
    assert again.status_code == 200, again.text
    refused = await client.get("/v1/sync", params={"cursor": cursor}, headers=headers)
    assert refused.status_code == 422, refused.text


async def test_sign_in_sessions_and_csrf_tokens_are_signed_with_the_apps_own_secret_key(
    own: httpx.AsyncClient, client: httpx.AsyncClient, own_settings: Settings, app: FastAPI
) -> None:
    await sign_up(own, "ann@example.org")
    page = await own.get("/oauth/sign-in")
    token = csrf_of(page.text)
    nonce = own.cookies[csrf_cookie(own_settings)]
    form: dict[str, Any] = {"csrf_token": token, "email": "ann@example.org", "password": PASSWORD}

    # The same browser nonce and token, sent to an app with another secret: refused.
    client.cookies.set(csrf_cookie(own_settings), nonce, path="/")
    refused = await client.post("/oauth/sign-in", data=form)
    assert refused.status_code == 400 and "expired" in refused.text

    signed_in = await own.post("/oauth/sign-in", data=form)
    assert signed_in.status_code == 200, signed_in.text
    session = own.cookies[session_cookie(own_settings)]
    assert unsign(own_settings, "session", session) is not None
    assert unsign(app.state.settings, "session", session) is None
