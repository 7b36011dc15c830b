"""End to end: the real app under uvicorn, driven by authlib's own OAuth 2 client."""

from __future__ import annotations

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from app.services.clients import RegisteredClient
from tests.conftest import MakeUser
from tests.oauth.conftest import LiveServer
from tests.oauth.flow import consent, query_of, sign_in

pytestmark = pytest.mark.slow


async def test_pkce_flow_with_authlibs_client(
    live_server: LiveServer, make_user: MakeUser, third_party_app: RegisteredClient
) -> None:
    ann = await make_user()
    base = live_server.url
    redirect_uri = "http://127.0.0.1:53682/oauth/callback"  # the app's ephemeral loopback port
    async with AsyncOAuth2Client(
        client_id=third_party_app.client.client_id,
        redirect_uri=redirect_uri,
        scope="profile couple:read",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    ) as oauth:
        verifier = generate_token(64)
        url, state = oauth.create_authorization_url(
            f"{base}/oauth/authorize", code_verifier=verifier
        )

        # The person's browser: sign in, consent, land on the app's redirect URI.
        async with httpx.AsyncClient(base_url=base) as browser:
            start = await browser.get(url)
            assert start.status_code == 303
            signed_in = await sign_in(
                browser, ann.user.email, ann.password, query_of(start.headers["location"])["next"]
            )
            assert signed_in.status_code == 303
            page = await browser.get(signed_in.headers["location"])
            assert page.status_code == 200 and "Closer Together" in page.text
            landed = await consent(browser, page.text)
        assert landed.status_code == 302
        callback = landed.headers["location"]
        assert callback.startswith(redirect_uri) and query_of(callback)["state"] == state

        token = await oauth.fetch_token(
            f"{base}/oauth/token", authorization_response=callback, code_verifier=verifier
        )
        assert token["token_type"] == "Bearer" and token["refresh_token"]
        assert token["scope"] == "profile couple:read"

        me = await oauth.get(f"{base}/v1/me")
        assert me.status_code == 200 and me.json()["email"] == ann.user.email

        refreshed = await oauth.refresh_token(f"{base}/oauth/token")
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert (await oauth.get(f"{base}/v1/me")).status_code == 200


async def test_the_live_server_publishes_its_own_issuer(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == live_server.url
    assert metadata["token_endpoint"] == f"{live_server.url}/oauth/token"
