"""RFC 8693 token exchange of Apple and Google id tokens at /oauth/token, against a local
provider: who gets tokens, and every way an id token must fail."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.federation_grant import ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, TOKEN_EXCHANGE
from app.auth.oidc_providers import federation_of
from app.models.federation import FederatedIdentity
from app.models.users import User
from app.services.clients import register_client
from app.services.erasure import erase_account
from tests import idp_support
from tests.conftest import MakeUser
from tests.idp_support import (
    NATIVE_APPLE_AUDIENCE,
    IdentityProvider,
    Person,
)

# The local identity provider's fixtures: `idp`, and `federated` (the app pointed at it).
idp_door = idp_support.idp_door
idp = idp_support.idp
federated = idp_support.federated


async def exchange(client: httpx.AsyncClient, id_token: str, **extra: str) -> httpx.Response:
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": id_token,
        "subject_token_type": ID_TOKEN_TYPE,
        "client_id": "rapport-mobile",
        "scope": "profile",
        **extra,
    }
    return await client.post("/oauth/token", data={k: v for k, v in data.items() if v})


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/v1/me", headers={"Authorization": f"Bearer {access_token}"})


def refused(response: httpx.Response, error: str = "invalid_grant") -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body
    return str(body.get("error_description", ""))


async def links(db: AsyncSession) -> int:
    await db.rollback()
    return int(await db.scalar(select(func.count()).select_from(FederatedIdentity)) or 0)


@pytest.mark.usefixtures("first_party_client")
async def test_a_new_google_person_gets_an_account_and_tokens(
    client: httpx.AsyncClient, federated: IdentityProvider, db: AsyncSession
) -> None:
    person = Person(sub="g-100", email="new.person@example.org", name="New Person")
    response = await exchange(client, federated.google.mint(person=person))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer" and body["scope"] == "profile"
    assert body["refresh_token"]
    profile = (await me(client, body["access_token"])).json()
    assert profile["email"] == "new.person@example.org"
    assert profile["display_name"] == "New Person"
    # The same subject again (a new token): the same person, whatever the email says now.
    again = await exchange(
        client, federated.google.mint(person=Person(sub="g-100", email="changed@example.org"))
    )
    assert again.status_code == 200, again.text
    assert (await me(client, again.json()["access_token"])).json()["id"] == profile["id"]
    await db.rollback()
    row = await db.scalar(select(FederatedIdentity))
    assert row is not None and row.provider == "google" and row.email_verified is True
    # The refresh token works like any other.
    refreshed = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": "rapport-mobile",
        },
    )
    assert refreshed.status_code == 200, refreshed.text


@pytest.mark.usefixtures("first_party_client")
async def test_apple_native_token_es256_with_an_app_audience(
    client: httpx.AsyncClient, federated: IdentityProvider, db: AsyncSession
) -> None:
    person = Person(sub="a-1", email="relay@privaterelay.appleid.test", email_verified="false")
    token = federated.apple.mint(person=person, aud=NATIVE_APPLE_AUDIENCE)
    response = await exchange(client, token)
    assert response.status_code == 200, response.text
    await db.rollback()
    row = await db.scalar(select(FederatedIdentity))
    assert row is not None and row.provider == "apple"
    assert row.email_verified is False  # Apple said "false": not taken as verified


@pytest.mark.usefixtures("first_party_client")
@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "someone-elses-app"}, "another app"),
        ({"aud": ["someone-elses-app", "x"]}, "another app"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "future"),
        ({"sub": None}, "subject"),
    ],
)
async def test_claims_that_fail(
    client: httpx.AsyncClient,
    federated: IdentityProvider,
    db: AsyncSession,
    claims: dict[str, Any],
    reason: str,
) -> None:
    assert reason in refused(await exchange(client, federated.google.mint(**claims)))
    assert await links(db) == 0


@pytest.mark.usefixtures("first_party_client")
async def test_wrong_issuer(client: httpx.AsyncClient, federated: IdentityProvider) -> None:
    # An issuer no provider has: refused before any key is fetched.
    unknown = federated.google.mint(iss="https://issuer.invalid")
    assert "not from an identity provider" in refused(await exchange(client, unknown))
    # Apple's issuer on a token signed with Google's key: Apple publishes no such key.
    crossed = federated.google.mint(iss=federated.apple.issuer, aud="app.rapport.signin")
    refused(await exchange(client, crossed))


@pytest.mark.usefixtures("first_party_client")
async def test_bad_signatures(client: httpx.AsyncClient, federated: IdentityProvider) -> None:
    published = federated.google.keys[0]
    impostor = RSAKey.generate_key(2048, parameters={"kid": str(published.kid)}, private=True)
    forged = federated.google.mint(key=impostor)
    assert "signature" in refused(await exchange(client, forged))
    # A valid token with its payload swapped keeps its signature, which no longer matches.
    head, _, sig = federated.google.mint().split(".")
    other_body = federated.google.mint(sub="someone-else").split(".")[1]
    assert "signature" in refused(await exchange(client, f"{head}.{other_body}.{sig}"))
    # Symmetric and unsigned tokens are refused whatever they say.
    secret = OctKey.import_key(secrets.token_bytes(32))
    hs256 = jwt.encode(
        {"alg": "HS256"}, {"iss": federated.google.issuer, "sub": "x", "aud": "y"}, secret
    )
    assert "algorithm" in refused(await exchange(client, hs256))
    refused(await exchange(client, "not.a.jwt"))


@pytest.mark.usefixtures("first_party_client")
async def test_unknown_kid_fetches_the_keys_again_once(
    app: FastAPI, client: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    google = federated.google
    provider = federation_of(app.state).providers["google"].oidc
    now = [1000.0]
    provider.monotonic = lambda: now[0]
    assert (await exchange(client, google.mint(sub="k-1"))).status_code == 200
    assert google.jwks_requests == 1
    # The provider rotates its key: a token with the new kid makes Rapport fetch again.
    now[0] += 120
    google.rotate()
    assert (await exchange(client, google.mint(sub="k-2"))).status_code == 200
    assert google.jwks_requests == 2
    # Another unknown kid right away: no fetch (minimum interval), and refused.
    stray = RSAKey.generate_key(2048, parameters={"kid": "stray"}, private=True)
    refused(await exchange(client, google.mint(key=stray)))
    refused(await exchange(client, google.mint(key=stray)))
    assert google.jwks_requests == 2
    # Past the minimum interval one more fetch is allowed; still an unknown key.
    now[0] += 120
    refused(await exchange(client, google.mint(key=stray)))
    assert google.jwks_requests == 3
    # Known kids never fetch.
    assert (await exchange(client, google.mint(sub="k-3"))).status_code == 200
    assert google.jwks_requests == 3


@pytest.mark.usefixtures("first_party_client")
async def test_a_token_or_nonce_works_once(
    client: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    token = federated.google.mint(sub="r-1", nonce="n-1")
    assert (await exchange(client, token)).status_code == 200
    assert "already used" in refused(await exchange(client, token))
    # A different token carrying the same nonce is a replay too.
    assert "already used" in refused(
        await exchange(
            client, federated.google.mint(sub="r-1", nonce="n-1", iat=int(time.time()) - 1)
        )
    )


@pytest.mark.usefixtures("first_party_client")
async def test_an_existing_email_is_never_linked_by_exchange(
    client: httpx.AsyncClient, federated: IdentityProvider, make_user: MakeUser, db: AsyncSession
) -> None:
    owner = await make_user(email="Owner@Example.org")
    person = Person(sub="g-owner", email="owner@example.org", email_verified=True)
    description = refused(await exchange(client, federated.google.mint(person=person)))
    assert "browser" in description and "password" in description
    assert await links(db) == 0
    assert owner.user.email.lower() == "owner@example.org"


@pytest.mark.usefixtures("first_party_client")
async def test_someone_elses_id_token_cannot_reach_my_account(
    client: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    mine = Person(sub="g-mine", email="me@example.org")
    first = await exchange(client, federated.google.mint(person=mine))
    my_id = (await me(client, first.json()["access_token"])).json()["id"]
    # Another Google account claiming my email: not linked, no tokens.
    claimer = Person(sub="g-other", email="me@example.org")
    refused(await exchange(client, federated.google.mint(person=claimer)))
    # My subject, but issued to another app: refused.
    refused(await exchange(client, federated.google.mint(person=mine, aud="other-app")))
    # My subject at Apple is not my Google account: a different person.
    apple = await exchange(
        client, federated.apple.mint(person=Person(sub="g-mine", email="apple@example.org"))
    )
    assert apple.status_code == 200, apple.text
    assert (await me(client, apple.json()["access_token"])).json()["id"] != my_id


async def test_only_first_party_clients_exchange(
    client: httpx.AsyncClient, federated: IdentityProvider, sessionmaker: object
) -> None:
    async with sessionmaker() as session, session.begin():  # type: ignore[operator]
        await register_client(
            session,
            name="Closer Together",
            redirect_uris=["app.closer:/cb"],
            scopes=["profile"],
            confidential=False,
            client_id="closer-together",
        )
    response = await exchange(client, federated.google.mint(), client_id="closer-together")
    refused(response, "unauthorized_client")


@pytest.mark.usefixtures("first_party_client")
async def test_malformed_requests(client: httpx.AsyncClient, federated: IdentityProvider) -> None:
    token = federated.google.mint()
    refused(await exchange(client, ""), "invalid_request")
    refused(await exchange(client, token, subject_token_type="urn:x"), "invalid_request")
    refused(
        await exchange(client, token, actor_token="a", actor_token_type=ID_TOKEN_TYPE),
        "invalid_request",
    )
    refused(await exchange(client, token, requested_token_type="urn:x"), "invalid_request")
    refused(await exchange(client, token, audience="https://elsewhere.test"), "invalid_target")
    refused(await exchange(client, token, scope="admin:users"), "invalid_scope")
    refused(await exchange(client, token, scope="no-such-scope"), "invalid_scope")


@pytest.mark.usefixtures("first_party_client")
async def test_disabled_providers_refuse(
    client: httpx.AsyncClient, idp: IdentityProvider, db: AsyncSession
) -> None:
    # The default settings configure neither provider: nothing is verified, nothing issued.
    description = refused(await exchange(client, idp.google.mint()))
    assert "not from an identity provider enabled" in description
    assert idp.google.jwks_requests == 0
    assert await links(db) == 0
    page = await client.get("/oauth/sign-in")
    assert "Continue with" not in page.text
    assert (await client.get("/oauth/federation/google/start")).status_code == 404
    assert (await client.get("/oauth/federation/apple/callback?code=x&state=y")).status_code == 404


async def test_metadata_lists_token_exchange_only_when_enabled(
    app: FastAPI, client: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    grants = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert TOKEN_EXCHANGE not in grants["grant_types_supported"]
    original = app.state.settings
    app.state.settings = original.model_copy(update=idp_support.provider_settings(idp))
    try:
        grants = (await client.get("/.well-known/oauth-authorization-server")).json()
    finally:
        app.state.settings = original
    assert TOKEN_EXCHANGE in grants["grant_types_supported"]


@pytest.mark.usefixtures("first_party_client")
async def test_an_unreachable_provider_is_a_503(
    app: FastAPI, client: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    original = app.state.settings
    closed = "http://127.0.0.1:9/google"  # the discard port: nothing listens there
    settings = idp_support.provider_settings(idp) | {"google_issuer": closed}
    app.state.settings = original.model_copy(update=settings)
    try:
        response = await exchange(client, idp.google.mint(iss=closed))
    finally:
        app.state.settings = original
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"


@pytest.mark.usefixtures("first_party_client")
async def test_erasure_removes_the_link(
    client: httpx.AsyncClient, federated: IdentityProvider, db: AsyncSession, sessionmaker: Any
) -> None:
    person = Person(sub="g-gone", email="gone@example.org")
    first = await exchange(client, federated.google.mint(person=person))
    user_id = uuid.UUID((await me(client, first.json()["access_token"])).json()["id"])
    async with sessionmaker() as session, session.begin():
        await erase_account(session, user_id, datetime.now(UTC))
    assert await links(db) == 0
    # The same Google account later is a new person, not the erased one.
    again = await exchange(client, federated.google.mint(person=person))
    assert again.status_code == 200, again.text
    assert (await me(client, again.json()["access_token"])).json()["id"] != str(user_id)


@pytest.mark.usefixtures("first_party_client")
async def test_no_email_from_the_provider(
    client: httpx.AsyncClient, federated: IdentityProvider
) -> None:
    response = await exchange(client, federated.apple.mint(person=Person(sub="a-quiet")))
    assert response.status_code == 200, response.text
    profile = await me(client, response.json()["access_token"])
    assert profile.status_code == 200, profile.text
    assert profile.json()["email"].endswith(".invalid")


@pytest.mark.usefixtures("first_party_client")
async def test_an_account_being_deleted_gets_no_tokens(
    client: httpx.AsyncClient, federated: IdentityProvider, sessionmaker: Any
) -> None:
    person = Person(sub="g-closing", email="closing@example.org")
    first = await exchange(client, federated.google.mint(person=person))
    user_id = uuid.UUID((await me(client, first.json()["access_token"])).json()["id"])
    async with sessionmaker() as session, session.begin():
        user = await session.get(User, user_id)
        assert user is not None
        user.deactivated_at = datetime.now(UTC)
    description = refused(await exchange(client, federated.google.mint(person=person)))
    assert "browser" in description
