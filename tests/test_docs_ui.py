"""The interactive docs: Swagger UI from local files, and its Authorize button working in
development through the docs' own PKCE client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.config import Environment, Settings
from app.main import create_app
from app.services.clients import DOCS_CLIENT_ID, DOCS_REDIRECT_PATH, get_client
from tests.conftest import MakeUser
from tests.oauth.flow import exchange, obtain_code

DEV_URL = "http://127.0.0.1:8000"


@pytest.fixture
async def dev_docs_app(app: FastAPI, test_settings: Settings) -> AsyncIterator[FastAPI]:
    """An app in the development environment, on the tests' database, with its lifespan."""
    settings = test_settings.model_copy(
        update={"environment": Environment.development, "public_url": DEV_URL}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def dev(dev_docs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=dev_docs_app)
    async with httpx.AsyncClient(transport=transport, base_url=DEV_URL) as http:
        yield http


async def test_the_docs_page_and_its_assets_are_served_from_here(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        served = await client.get(f"/docs/assets/{asset}")
        assert served.status_code == 200, asset
    assert (await client.get(DOCS_REDIRECT_PATH)).status_code == 200
    assert (await client.get("/redoc")).status_code == 404  # it would need a CDN


async def test_outside_development_the_docs_name_no_client(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert DOCS_CLIENT_ID not in page.text and "usePkceWithAuthorizationCodeGrant" not in page.text


async def test_in_development_authorize_signs_in_with_pkce_through_the_docs_client(
    dev: httpx.AsyncClient, dev_docs_app: FastAPI, make_user: MakeUser
) -> None:
    page = await dev.get("/docs")
    assert f'"clientId": "{DOCS_CLIENT_ID}"' in page.text
    assert '"usePkceWithAuthorizationCodeGrant": true' in page.text
    async with dev_docs_app.state.sessionmaker() as session:
        client = await get_client(session, DOCS_CLIENT_ID)
    assert client is not None and not client.is_confidential and not client.is_first_party
    redirect = DEV_URL + DOCS_REDIRECT_PATH
    assert client.redirect_uris == [redirect]

    person = await make_user()
    grant = await obtain_code(
        dev, DOCS_CLIENT_ID, person.user.email, person.password, redirect_uri=redirect
    )
    tokens = await exchange(dev, grant, DOCS_CLIENT_ID)
    assert tokens.status_code == 200, tokens.text
    me = await dev.get(
        "/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["email"] == person.user.email


async def test_a_public_url_that_cannot_carry_the_redirect_registers_no_docs_client(
    app: FastAPI, test_settings: Settings
) -> None:
    settings = test_settings.model_copy(
        update={"environment": Environment.development, "public_url": "http://rapport.local"}
    )
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        application.state.sessionmaker() as session,
    ):
        assert await get_client(session, DOCS_CLIENT_ID) is None
