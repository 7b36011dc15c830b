"""The whole life of a native app's grant, over HTTP, as a third-party public client."""

from __future__ import annotations

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.oauth import Consent, RefreshToken
from app.services.clients import RegisteredClient, register_client
from tests.conftest import PUBLIC_URL, MakeUser
from tests.oauth.flow import (
    HTTPS_REDIRECT,
    PRIVATE_REDIRECT,
    authorize_url,
    consent,
    hidden_fields,
    pkce_pair,
    query_of,
    refresh,
    sign_in,
)


async def test_native_app_flow_from_sign_in_to_revocation(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    third_party_app: RegisteredClient,
    resource_server: RegisteredClient,
    db: AsyncSession,
) -> None:
    ann = await make_user(email="ann@example.org")
    app_id = third_party_app.client.client_id
    verifier, challenge = pkce_pair()

    # 1. The app opens the authorization URL; nobody is signed in yet.
    start = await client.get(authorize_url(app_id, challenge, scope="profile checkins:read"))
    assert start.status_code == 303
    next_url = query_of(start.headers["location"])["next"]
    assert next_url.startswith("/oauth/authorize?")

    # 2. The sign-in page, posted with its CSRF token, returns to the authorization request.
    signed_in = await sign_in(client, "ANN@example.org", ann.password, next_url)
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/;" in cookie

    # 3. A third-party client gets the consent page, listing what it asks for.
    page = await client.get(signed_in.headers["location"])
    assert page.status_code == 200
    assert "Closer Together" in page.text and "checkins:read" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert ("code_challenge", challenge) in hidden_fields(page.text)

    # 4. Allowing sends the code to the registered redirect URI, with state and issuer.
    allowed = await consent(client, page.text)
    assert allowed.status_code == 302
    location = allowed.headers["location"]
    assert location.startswith(PRIVATE_REDIRECT + "?")
    params = query_of(location)
    assert params["state"] == "s-123" and params["iss"] == PUBLIC_URL

    # 5. The app exchanges the code with its PKCE verifier.
    tokens = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": PRIVATE_REDIRECT,
            "code_verifier": verifier,
            "client_id": app_id,
        },
    )
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    assert tokens.headers["pragma"] == "no-cache"
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "profile checkins:read"
    assert body["expires_in"] == 900

    # 6. The access token verifies against the published JWKS, and works on the API.
    jwks = (await client.get("/.well-known/jwks.json")).json()
    decoded = jwt.decode(body["access_token"], KeySet.import_key_set(jwks))
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["sub"] == str(ann.id)
    assert decoded.claims["client_id"] == app_id
    assert decoded.claims["iss"] == PUBLIC_URL and decoded.claims["aud"] == PUBLIC_URL
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == str(ann.id)

    # 7. Refreshing rotates the refresh token.
    first_refresh = body["refresh_token"]
    rotated = await refresh(client, first_refresh, app_id)
    assert rotated.status_code == 200, rotated.text
    second_refresh = rotated.json()["refresh_token"]
    assert second_refresh != first_refresh
    assert rotated.json()["scope"] == "profile checkins:read"

    # 8. Presenting the rotated-out token again revokes the whole family.
    replayed = await refresh(client, first_refresh, app_id)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    assert (await refresh(client, second_refresh, app_id)).json()["error"] == "invalid_grant"
    rows = (await db.scalars(select(RefreshToken))).all()
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    assert all(len(row.token_hash) == 64 and row.token_hash != second_refresh for row in rows)

    # 9. A new grant to the app's claimed https redirect (consent remembered: no page this
    # time), then revoke and introspect.
    verifier, challenge = pkce_pair()
    again = await client.get(
        authorize_url(app_id, challenge, scope="profile", redirect_uri=HTTPS_REDIRECT)
    )
    assert again.status_code == 302
    fresh = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(again.headers["location"])["code"],
            "redirect_uri": HTTPS_REDIRECT,
            "code_verifier": verifier,
            "client_id": app_id,
        },
    )
    live_refresh = fresh.json()["refresh_token"]
    gateway = (resource_server.client.client_id, resource_server.secret or "")
    active = await client.post("/oauth/introspect", data={"token": live_refresh}, auth=gateway)
    assert active.json()["active"] is True
    assert active.json()["sub"] == str(ann.id)
    assert "email" not in active.text and "ann@" not in active.text

    revoked = await client.post("/oauth/revoke", data={"token": live_refresh, "client_id": app_id})
    assert revoked.status_code == 200
    gone = await client.post("/oauth/introspect", data={"token": live_refresh}, auth=gateway)
    assert gone.json() == {"active": False}
    assert (await refresh(client, live_refresh, app_id)).json()["error"] == "invalid_grant"


async def test_consent_is_remembered_until_new_scopes_are_asked(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    third_party_app: RegisteredClient,
    db: AsyncSession,
) -> None:
    ann = await make_user()
    app_id = third_party_app.client.client_id
    _, challenge = pkce_pair()

    def url(scope: str) -> str:
        return authorize_url(app_id, challenge, scope=scope, redirect_uri=HTTPS_REDIRECT)

    first = await client.get(url("profile"))
    signed_in = await sign_in(
        client, ann.user.email, ann.password, query_of(first.headers["location"])["next"]
    )
    page = await client.get(signed_in.headers["location"])
    assert page.status_code == 200
    assert (await consent(client, page.text)).status_code == 302

    same = await client.get(url("profile"))
    assert same.status_code == 302 and "code" in query_of(same.headers["location"])

    wider = await client.get(url("profile checkins:read"))
    assert wider.status_code == 200 and "checkins:read" in wider.text
    assert (await consent(client, wider.text)).status_code == 302
    stored = await db.scalar(select(Consent).where(Consent.user_id == ann.id))
    assert stored is not None and stored.scopes == ["profile", "checkins:read"]


async def test_denying_consent_tells_the_client_access_denied(
    client: httpx.AsyncClient, make_user: MakeUser, third_party_app: RegisteredClient
) -> None:
    ann = await make_user()
    _, challenge = pkce_pair()
    await sign_in(client, ann.user.email, ann.password)
    page = await client.get(authorize_url(third_party_app.client.client_id, challenge))
    denied = await consent(client, page.text, decision="deny")
    assert denied.status_code == 302
    params = query_of(denied.headers["location"])
    assert (
        params["error"] == "access_denied" and params["state"] == "s-123" and "code" not in params
    )


async def test_a_first_party_client_skips_consent_on_a_claimed_https_redirect(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await register_client(
            session,
            name="Rapport web",
            redirect_uris=["https://app.rapport.example/callback"],
            scopes=["profile"],
            confidential=False,
            first_party=True,
            client_id="rapport-web",
        )
    ann = await make_user()
    _, challenge = pkce_pair()
    await sign_in(client, ann.user.email, ann.password)
    response = await client.get(
        authorize_url("rapport-web", challenge, redirect_uri="https://app.rapport.example/callback")
    )
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://app.rapport.example/callback?code=")


async def test_private_use_scheme_redirects_always_ask(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    """Any app on the phone can register `app.rapport:` and pose as the first-party app: a
    signed-in browser sent to an authorization URL with an attacker's PKCE challenge must not
    come back with a code, least of all one reading the journal, without the person's say."""
    ann = await make_user()
    _, attackers_challenge = pkce_pair()
    await sign_in(client, ann.user.email, ann.password)
    url = authorize_url(
        "rapport-mobile",
        attackers_challenge,
        redirect_uri="app.rapport:/oauth/callback",
        scope="profile journal:read",
    )
    for _ in range(2):  # even after the person allowed it once
        response = await client.get(url)
        assert response.status_code == 200 and 'name="decision"' in response.text
        assert "code=" not in response.headers.get("location", "")
        allowed = await consent(client, response.text, "allow")
        assert allowed.headers["location"].startswith("app.rapport:/oauth/callback?code=")


async def test_sensitive_scopes_are_named_and_asked_for_every_time(
    client: httpx.AsyncClient, make_user: MakeUser, third_party_app: RegisteredClient
) -> None:
    ann = await make_user()
    app_id = third_party_app.client.client_id
    _, challenge = pkce_pair()
    await sign_in(client, ann.user.email, ann.password)
    url = authorize_url(
        app_id,
        challenge,
        scope="profile journal:read checkins:private",
        redirect_uri=HTTPS_REDIRECT,
    )
    for _ in range(2):  # allowed once, still asked the next time: never remembered
        page = await client.get(url)
        assert page.status_code == 200
        assert "Your private writing" in page.text
        assert "Read everything you wrote in your private journal." in page.text
        assert "Read the check-ins you kept private" in page.text
        allowed = await consent(client, page.text, "allow")
        assert allowed.status_code == 302 and "code=" in allowed.headers["location"]
    # Without the sensitive scopes, the remembered consent applies again.
    plain = await client.get(
        authorize_url(app_id, challenge, scope="profile", redirect_uri=HTTPS_REDIRECT)
    )
    assert plain.status_code == 302


async def test_loopback_redirects_always_ask(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    """Any local program can listen on a loopback port and pose as the first-party app
    (RFC 8252 §8.6): a loopback redirect never gets a code without the person's say."""
    ann = await make_user()
    _, challenge = pkce_pair()
    await sign_in(client, ann.user.email, ann.password)
    url = authorize_url(
        "rapport-mobile", challenge, redirect_uri="http://127.0.0.1:49152/oauth/callback"
    )
    for _ in range(2):  # even after the person allowed it once
        response = await client.get(url)
        assert response.status_code == 200
        assert 'name="decision"' in response.text
        allowed = await consent(client, response.text, "allow")
        assert allowed.status_code == 302
        assert allowed.headers["location"].startswith("http://127.0.0.1:49152/oauth/callback?code=")
