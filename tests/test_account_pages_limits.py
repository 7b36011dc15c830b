"""The account pages' forms refuse a missing or foreign CSRF token and are rate-limited
like sign-in: per IP address, and (for mails) per address, so nobody floods an inbox."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests import smtp_support
from tests.account_pages_support import forgot, sign_up
from tests.conftest import PUBLIC_URL, MakeUser
from tests.oauth.flow import csrf_of
from tests.smtp_support import Inbox, deliver

inbox = smtp_support.inbox

FORMS = [
    ("/oauth/sign-up", {"email": "ann@example.org", "password": "x" * 12, "display_name": "A"}),
    ("/oauth/forgot-password", {"email": "ann@example.org"}),
    ("/oauth/reset-password", {"token": "t", "password": "x" * 12, "confirm": "x" * 12}),
    ("/oauth/verify-email", {"token": "t"}),
    ("/oauth/verify-email/resend", {}),
]


@pytest.mark.parametrize(("action", "fields"), FORMS)
async def test_a_form_without_a_valid_csrf_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, inbox: Inbox, action: str, fields: dict[str, str]
) -> None:
    missing = await client.post(action, data=fields)
    assert missing.status_code == 400 and "expired" in missing.text
    page = await client.get("/oauth/forgot-password")  # sets this browser's CSRF cookie
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as other:
        await other.get("/oauth/forgot-password")
        foreign = await other.post(action, data={**fields, "csrf_token": csrf_of(page.text)})
    assert foreign.status_code == 400, "a token from another browser's page"
    assert await deliver(app, inbox) == 0


async def test_reset_mails_to_one_address_are_limited(
    app: FastAPI, make_user: MakeUser, inbox: Inbox
) -> None:
    ann = await make_user()
    for n in range(4):
        transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{n}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
            response = await forgot(browser, ann.user.email)
        if n < 3:
            assert response.status_code == 200
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0 and "ratelimit-policy" in response.headers
    assert "Too many attempts" in response.text
    assert await deliver(app, inbox) == 1, "each request superseded the one before"


async def test_one_ip_address_is_limited_across_addresses(client: httpx.AsyncClient) -> None:
    for n in range(5):
        assert (await forgot(client, f"guess{n}@example.org")).status_code == 200
    assert (await forgot(client, "guess5@example.org")).status_code == 429


async def test_sign_ups_from_one_ip_address_are_limited(client: httpx.AsyncClient) -> None:
    for n in range(10):
        created = await sign_up(client, f"new{n}@example.org")
        assert created.status_code == 200, created.text
    refused = await sign_up(client, "new10@example.org")
    assert refused.status_code == 429 and "retry-after" in refused.headers


async def test_reset_attempts_from_one_ip_address_are_limited(client: httpx.AsyncClient) -> None:
    page = await client.get("/oauth/forgot-password")
    form = {"csrf_token": csrf_of(page.text), "token": "guess", "password": "x" * 12}
    for _ in range(5):
        guessed = await client.post("/oauth/reset-password", data={**form, "confirm": "x" * 12})
        assert guessed.status_code == 400
    refused = await client.post("/oauth/reset-password", data={**form, "confirm": "x" * 12})
    assert refused.status_code == 429
