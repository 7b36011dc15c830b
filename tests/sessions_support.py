"""Signing a person in through the authorization code flow, and checking a token is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.conftest import PUBLIC_URL, Person
from tests.oauth.flow import exchange, obtain_code


@asynccontextmanager
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own per person: sign-in cookies are not shared."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


async def sign_in(app: FastAPI, person: Person, client_id: str) -> dict[str, str]:
    """The tokens an app gets through the authorization code flow."""
    async with browser(app) as http:
        grant = await obtain_code(http, client_id, person.user.email, person.password)
        response = await exchange(http, grant, client_id)
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def assert_refused(client: httpx.AsyncClient, access_token: str) -> None:
    response = await client.get("/v1/me", headers=bearer(access_token))
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
