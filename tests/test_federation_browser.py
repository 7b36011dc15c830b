""" "Continue with Apple / Google" on the sign-in page, end to end: Rapport's authorization
request, the local provider's authorization and token endpoints, the callback, consent and
the code exchange, with every redirect followed by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.federation import FederatedIdentity
from app.models.users import User
from tests import idp_support
from tests.conftest import PUBLIC_URL, MakeUser
from tests.idp_support import IdentityProvider, Person, button_url, through_provider
from tests.oauth.flow import (
    PRIVATE_REDIRECT,
    Grant,
    authorize_url,
    consent,
    csrf_of,
    exchange,
    pkce_pair,
    query_of,
)

idp_door = idp_support.idp_door
idp = idp_support.idp
federated = idp_support.federated


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


async def start_authorization(browser: httpx.AsyncClient) -> tuple[str, str]:
    """The app's authorization request: the sign-in page it leads to, and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    response = await browser.get(authorize_url("rapport-mobile", challenge))
    assert response.status_code == 303, response.text
    page = await browser.get(response.headers["location"])
    assert page.status_code == 200
    return page.text, verifier


async def finish_authorization(
    browser: httpx.AsyncClient, signed_in: httpx.Response, verifier: str
) -> dict[str, str]:
    """From the redirect back to /oauth/authorize to the app's tokens."""
    assert signed_in.status_code == 303, signed_in.text
    resumed = await browser.get(signed_in.headers["location"])
    if resumed.status_code == 200:  # a private-use redirect: consent is always asked
        resumed = await consent(browser, resumed.text)
    assert resumed.status_code == 302, resumed.text
    location = resumed.headers["location"]
    grant = Grant(query_of(location)["code"], verifier, PRIVATE_REDIRECT, location)
    tokens = await exchange(browser, grant, "rapport-mobile")
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


async def whoami(browser: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, str]:
    response = await browser.get(
        "/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.usefixtures("first_party_client")
@pytest.mark.parametrize("provider", ["Google", "Apple"])
async def test_continue_with_a_provider_creates_an_account_and_continues(
    browser: httpx.AsyncClient, federated: IdentityProvider, db: AsyncSession, provider: str
) -> None:
    tenant = federated.google if provider == "Google" else federated.apple
    tenant.person = Person(sub=f"{provider}-1", email=f"{provider.lower()}@example.org")
    page, verifier = await start_authorization(browser)
    start = await browser.get(button_url(page, provider))
    # The provider is asked with state, nonce and PKCE, bound to this authorization request.
    asked = query_of(start.headers["location"])
    assert asked["state"] and asked["nonce"] and asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == f"{PUBLIC_URL}/oauth/federation/{provider.lower()}/callback"
    callback, _ = await through_provider(browser, start)
    assert urlsplit(callback.headers["location"]).path == "/oauth/authorize"
    tokens = await finish_authorization(browser, callback, verifier)
    assert (await whoami(browser, tokens))["email"] == f"{provider.lower()}@example.org"
    row = await db.scalar(select(FederatedIdentity))
    assert row is not None and row.provider == provider.lower() and row.subject == tenant.person.sub


@pytest.mark.usefixtures("first_party_client")
async def test_a_returning_person_is_the_same_account(
    browser: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    federated.google.person = Person(sub="back-1", email="back@example.org")
    ids = []
    for _ in range(2):
        browser.cookies.clear()
        page, verifier = await start_authorization(browser)
        callback, _ = await through_provider(browser, await browser.get(button_url(page, "Google")))
        ids.append(
            (await whoami(browser, await finish_authorization(browser, callback, verifier)))["id"]
        )
    assert ids[0] == ids[1]


@pytest.mark.usefixtures("first_party_client")
async def test_an_existing_email_is_linked_only_with_its_password(
    browser: httpx.AsyncClient, federated: IdentityProvider, make_user: MakeUser, db: AsyncSession
) -> None:
    owner = await make_user(email="owner@example.org")
    federated.google.person = Person(sub="owner-g", email="owner@example.org")
    page, verifier = await start_authorization(browser)
    callback, _ = await through_provider(browser, await browser.get(button_url(page, "Google")))
    # Not signed in, not linked: asked for the account's password first.
    assert callback.status_code == 303 and callback.headers["location"] == "/oauth/federation/link"
    confirm = await browser.get("/oauth/federation/link")
    assert confirm.status_code == 200 and "owner@example.org" in confirm.text
    wrong = await browser.post(
        "/oauth/federation/link",
        data={"csrf_token": csrf_of(confirm.text), "password": "not the password at all"},
    )
    assert wrong.status_code == 400
    assert int(await db.scalar(select(func.count()).select_from(FederatedIdentity)) or 0) == 0
    # No CSRF token: refused.
    forged = await browser.post("/oauth/federation/link", data={"password": owner.password})
    assert forged.status_code == 400
    linked = await browser.post(
        "/oauth/federation/link",
        data={"csrf_token": csrf_of(wrong.text), "password": owner.password},
    )
    tokens = await finish_authorization(browser, linked, verifier)
    assert (await whoami(browser, tokens))["id"] == str(owner.id)
    await db.rollback()
    row = await db.scalar(select(FederatedIdentity))
    assert row is not None and row.user_id == owner.id
    # Next time Google alone signs the owner in.
    browser.cookies.clear()
    page, verifier = await start_authorization(browser)
    callback, _ = await through_provider(browser, await browser.get(button_url(page, "Google")))
    tokens = await finish_authorization(browser, callback, verifier)
    assert (await whoami(browser, tokens))["id"] == str(owner.id)


@pytest.mark.usefixtures("first_party_client")
async def test_a_callback_from_another_browser_is_refused(
    browser: httpx.AsyncClient, federated: IdentityProvider, app: FastAPI, db: AsyncSession
) -> None:
    """Login CSRF: the attacker's own callback URL, opened in the victim's browser."""
    federated.google.person = Person(sub="attacker", email="attacker@example.org")
    page, _ = await start_authorization(browser)
    start = await browser.get(button_url(page, "Google"))
    async with httpx.AsyncClient() as outside:
        answer = await outside.get(start.headers["location"])
    parts = urlsplit(answer.headers["location"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
    ) as victim:
        response = await victim.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 400
        assert "rapport_session" not in response.cookies
    # A wrong state in the right browser is refused too.
    tampered = await browser.get(f"{parts.path}?code=x&state=wrong")
    assert tampered.status_code == 400
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.usefixtures("first_party_client")
async def test_a_replayed_nonce_is_refused(
    browser: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    federated.google.person = Person(sub="replay-1", email="replay@example.org")
    page, _ = await start_authorization(browser)
    start = await browser.get(button_url(page, "Google"))
    flow_cookie = browser.cookies.get("rapport_flow")
    assert flow_cookie
    asked = query_of(start.headers["location"])
    first, _ = await through_provider(browser, start)
    assert first.status_code == 303
    # The same flow cookie again, with a fresh code whose id token repeats the nonce.
    browser.cookies.set("rapport_flow", flow_cookie, domain="rapport.test")
    federated.google.override_claims = {"nonce": asked["nonce"]}
    again, _ = await through_provider(browser, start)
    assert again.status_code == 400 and "already used" in again.text


@pytest.mark.usefixtures("first_party_client")
async def test_a_wrong_nonce_or_audience_from_the_provider_is_refused(
    browser: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    federated.google.person = Person(sub="n-1", email="n@example.org")
    for claims, reason in [
        ({"nonce": "not-the-flows-nonce"}, "nonce"),
        ({"aud": "another-client"}, "another app"),
        ({"iss": "https://issuer.invalid"}, "not issued by this provider"),
    ]:
        federated.google.override_claims = claims
        page, _ = await start_authorization(browser)
        callback, _ = await through_provider(browser, await browser.get(button_url(page, "Google")))
        assert callback.status_code == 400 and reason in callback.text, callback.text
        assert "rapport_session" not in callback.cookies


async def test_disabled_providers_show_no_button(
    browser: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    page = await browser.get("/oauth/sign-in")
    assert page.status_code == 200 and "Continue with" not in page.text
    assert (await browser.get("/oauth/federation/google/start")).status_code == 404
    assert (await browser.get("/oauth/federation/apple/callback?code=a&state=b")).status_code == 404
    assert (await browser.get("/oauth/federation/nope/start")).status_code == 404


async def test_only_a_safe_next_is_followed(
    browser: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    federated.google.person = Person(sub="next-1", email="next@example.org")
    start = await browser.get("/oauth/federation/google/start?next=https://evil.example/x")
    callback, _ = await through_provider(browser, start)
    assert callback.status_code == 200 and "You are signed in" in callback.text
    assert "rapport_session" in callback.cookies


async def test_signing_in_cancels_a_pending_erasure(
    browser: httpx.AsyncClient, federated: IdentityProvider, sessionmaker: Any
) -> None:
    federated.google.person = Person(sub="closing-1", email="closing@example.org")
    first, _ = await through_provider(browser, await browser.get("/oauth/federation/google/start"))
    assert first.status_code == 200
    async with sessionmaker() as session, session.begin():
        user = await session.scalar(select(User).where(User.email == "closing@example.org"))
        assert user is not None
        user.deactivated_at = datetime.now(UTC)
        user.erase_after = datetime.now(UTC) + timedelta(days=7)
    browser.cookies.clear()
    again, _ = await through_provider(browser, await browser.get("/oauth/federation/google/start"))
    assert again.status_code == 200
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == "closing@example.org"))
        assert user is not None and user.deactivated_at is None and user.erase_after is None
