"""The browser's sign-in session: `__Host-` cookies, CSRF bound to the session, sign-out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.conftest import MakeUser
from tests.oauth.flow import authorize_url, csrf_of, pkce_pair, sign_in


@pytest.fixture
async def https_browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The same server as deployed behind https (`RAPPORT_PUBLIC_URL=https://...`)."""
    settings = app.state.settings.model_copy(update={"public_url": "https://rapport.test"})
    secure = create_app(settings)
    secure.state._state.update(
        {name: value for name, value in app.state._state.items() if name != "settings"}
    )
    transport = httpx.ASGITransport(app=secure)
    async with httpx.AsyncClient(transport=transport, base_url="https://rapport.test") as http:
        yield http


async def test_over_https_the_cookies_are_host_prefixed_secure_and_site_wide(
    https_browser: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    page = await https_browser.get("/oauth/sign-in")
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith("__Host-rapport_csrf=")
    signed_in = await sign_in(https_browser, ann.user.email, ann.password)
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("__Host-rapport_session=")
    for attribute in ("HttpOnly", "Path=/;", "Secure", "SameSite=lax"):
        assert attribute.lower() in cookie.lower() + ";", attribute
    assert "domain=" not in cookie.lower()
    # The prefixed session is the one read back: the authorization request goes on signed in.
    _, challenge = pkce_pair()
    asked = await https_browser.get(authorize_url("rapport-mobile", challenge))
    assert asked.status_code == 200 and 'name="decision"' in asked.text


async def test_a_csrf_token_is_bound_to_the_sign_in_session(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann, bob = await make_user(), await make_user()
    await sign_in(client, ann.user.email, ann.password)
    anns_token = csrf_of((await client.get("/oauth/logout")).text)
    # Another sign-in in the same browser (same CSRF cookie) makes a new session: the form
    # made for the first one is refused, and the person stays signed in.
    await sign_in(client, bob.user.email, bob.password)
    refused = await client.post("/oauth/logout", data={"csrf_token": anns_token})
    assert refused.status_code == 400
    assert "set-cookie" not in refused.headers or "Max-Age=0" not in refused.headers["set-cookie"]
    fresh = csrf_of((await client.get("/oauth/logout")).text)
    assert fresh != anns_token
    assert (await client.post("/oauth/logout", data={"csrf_token": fresh})).status_code == 200


async def test_sign_out_ends_the_browser_session(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    await sign_in(client, ann.user.email, ann.password)
    page = await client.get("/oauth/logout")
    assert page.status_code == 200 and "Sign out" in page.text
    assert page.headers["cache-control"] == "no-store"

    forged = await client.post("/oauth/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    _, challenge = pkce_pair()
    still = await client.get(authorize_url("rapport-mobile", challenge))
    assert still.status_code == 200  # the forged post signed nobody out

    done = await client.post("/oauth/logout", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "You are signed out" in done.text
    cleared = done.headers["set-cookie"]
    assert cleared.startswith("rapport_session=") and "Max-Age=0" in cleared
    after = await client.get(authorize_url("rapport-mobile", challenge))
    assert after.status_code == 303 and "/oauth/sign-in" in after.headers["location"]
