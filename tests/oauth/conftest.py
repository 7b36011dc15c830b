"""Fixtures of the OAuth tests: registered clients, and a clean rate limiter per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.ratelimit import MemoryBackend
from app.core.security import MEMBER_SCOPES, Scope
from app.main import create_app
from app.services.clients import RegisteredClient, register_client
from tests.oauth.flow import HTTPS_REDIRECT, LOOPBACK_REDIRECT, PRIVATE_REDIRECT
from tests.uvicorn_support import serving


@pytest.fixture(autouse=True)
async def _fresh_rate_limits(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "app" in request.fixturenames:
        backend = getattr(request.getfixturevalue("app").state, "rate_limit_backend", None)
        if isinstance(backend, MemoryBackend):
            backend.clear()


async def _register(
    sessionmaker: async_sessionmaker[AsyncSession], **options: object
) -> RegisteredClient:
    async with sessionmaker() as session, session.begin():
        return await register_client(session, **options)  # type: ignore[arg-type]


MEMBER = sorted(scope.value for scope in MEMBER_SCOPES)


@pytest.fixture
async def third_party_app(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    """A partner's native app: public, PKCE, consent required."""
    return await _register(
        sessionmaker,
        name="Closer Together",
        redirect_uris=[LOOPBACK_REDIRECT, PRIVATE_REDIRECT, HTTPS_REDIRECT],
        scopes=[*MEMBER, Scope.admin_content.value, Scope.admin_users.value],
        confidential=False,
        client_id="closer-together",
    )


@pytest.fixture
async def partner(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    """A partner platform's server: confidential, webhooks and prompts."""
    return await _register(
        sessionmaker,
        name="Therapy Platform",
        redirect_uris=["https://partner.example/oauth/callback"],
        scopes=[Scope.webhooks_manage.value, Scope.prompts_read.value, Scope.profile.value],
        confidential=True,
        client_id="therapy-platform",
    )


@pytest.fixture
async def resource_server(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    """A first-party confidential client that may introspect any token."""
    return await _register(
        sessionmaker,
        name="Rapport gateway",
        redirect_uris=[],
        scopes=[],
        confidential=True,
        first_party=True,
        client_id="rapport-gateway",
    )


@dataclass
class LiveServer:
    url: str
    app: FastAPI


@pytest.fixture
async def live_server(app: FastAPI, test_settings: Settings) -> AsyncIterator[LiveServer]:
    """The real app under uvicorn on 127.0.0.1, in this test's event loop, on the test database."""
    async with serving(
        lambda url: create_app(test_settings.model_copy(update={"public_url": url}))
    ) as (url, live_app):
        yield LiveServer(url=url, app=live_app)
