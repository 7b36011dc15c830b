"""A person signs in and consents in headless Chromium; no JavaScript of ours is involved."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from app.services.clients import RegisteredClient
from tests.conftest import MakeUser
from tests.oauth.cdp import CHROMIUM, chromium
from tests.oauth.conftest import LiveServer
from tests.oauth.flow import authorize_url, pkce_pair, query_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


class Callback:
    """The app's loopback redirect listener (RFC 8252 §7.3), on a port of its own."""

    def __init__(self) -> None:
        self.received: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode()
        if not self.received.done():
            self.received.set_result(request_line.split(" ")[1])
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nDone"
        )
        await writer.drain()
        writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/oauth/callback"


async def test_sign_in_and_consent_in_a_real_browser(
    live_server: LiveServer,
    make_user: MakeUser,
    third_party_app: RegisteredClient,
    tmp_path: Path,
) -> None:
    ann = await make_user()
    callback = Callback()
    redirect_uri = await callback.start()
    verifier, challenge = pkce_pair()
    url = live_server.url + authorize_url(
        "closer-together", challenge, redirect_uri=redirect_uri, scope="profile checkins:write"
    )
    try:
        async with chromium(tmp_path / "profile") as page:
            await page.send("Page.navigate", url=url)
            await page.wait_for("location.pathname === '/oauth/sign-in'")
            assert await page.evaluate("document.documentElement.lang") == "en"
            assert await page.evaluate("document.getElementById('email').labels.length") == 1
            assert await page.evaluate("document.getElementById('password').labels.length") == 1
            await page.type_into("#email", ann.user.email)
            await page.type_into("#password", ann.password)
            await page.click("button[type=submit]")

            await page.wait_for("document.querySelector('button[value=allow]') !== null")
            text = await page.evaluate("document.body.innerText")
            assert "Allow Closer Together" in text and "checkins:write" in text
            await page.click("button[value=allow]")
            landed = await asyncio.wait_for(callback.received, timeout=15)
    finally:
        assert callback.server is not None
        callback.server.close()

    params = query_of(landed)
    assert params["state"] == "s-123"
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        tokens = await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": "closer-together",
            },
        )
        assert tokens.status_code == 200, tokens.text
        me = await http.get(
            "/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
    assert me.status_code == 200 and me.json()["id"] == str(ann.id)
