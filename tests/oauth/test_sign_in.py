"""Signing in: the session cookie, failures that reveal nothing, lockouts per account and IP."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from app.services.oauth import SIGN_IN_FAILED
from tests.conftest import PUBLIC_URL, MakeUser
from tests.oauth.flow import authorize_url, csrf_of, pkce_pair, sign_in


def _error_text(page: str) -> str:
    match = re.search(r'<p class="error" role="alert" id="sign-in-error">(.*?)</p>', page)
    assert match, page
    return match.group(1)


async def test_a_wrong_password_and_an_unknown_email_look_the_same(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    wrong = await sign_in(client, ann.user.email, "not the password")
    unknown = await sign_in(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert (
        _error_text(wrong.text) == _error_text(unknown.text) == SIGN_IN_FAILED.replace("'", "&#39;")
    )
    assert "set-cookie" not in wrong.headers or "rapport_session" not in wrong.headers["set-cookie"]


async def test_five_failures_lock_the_account_whatever_the_ip(
    app: FastAPI, make_user: MakeUser
) -> None:
    ann = await make_user()
    for attempt in range(6):
        transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{attempt}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
            password = ann.password if attempt == 5 else "wrong"
            response = await sign_in(browser, ann.user.email, password)
        if attempt < 5:
            assert response.status_code == 400
    assert response.status_code == 429, "even the right password is refused while locked"
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert "ratelimit" in response.headers and "ratelimit-policy" in response.headers
    assert "Too many sign-in attempts" in response.text


async def test_five_failures_lock_the_ip_whatever_the_account(
    app: FastAPI, make_user: MakeUser
) -> None:
    ann = await make_user()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
        for n in range(5):
            assert (await sign_in(browser, f"guess{n}@example.org", "pw")).status_code == 400
        locked = await sign_in(browser, ann.user.email, ann.password)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    other_ip = httpx.ASGITransport(app=app, client=("203.0.113.10", 4000))
    async with httpx.AsyncClient(transport=other_ip, base_url=PUBLIC_URL) as browser:
        assert (await sign_in(browser, ann.user.email, ann.password)).status_code == 200


async def test_unknown_emails_lock_out_the_same_way(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await sign_in(client, "nobody@example.org", "pw")).status_code == 400
    assert (await sign_in(client, "NOBODY@example.org", "pw")).status_code == 429


async def test_a_success_clears_the_account_count_but_not_the_ips(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    for _ in range(4):
        await sign_in(client, ann.user.email, "wrong")
    assert (await sign_in(client, ann.user.email, ann.password)).status_code == 200
    other_ip = httpx.ASGITransport(app=app, client=("192.0.2.44", 4000))
    async with httpx.AsyncClient(transport=other_ip, base_url=PUBLIC_URL) as browser:
        for _ in range(4):
            assert (await sign_in(browser, ann.user.email, "wrong")).status_code == 400
    # The first IP made four failures: it has one left, success or not.
    assert (await sign_in(client, "someone@example.org", "wrong")).status_code == 400
    assert (await sign_in(client, "someone@example.org", "wrong")).status_code == 429


async def test_sign_in_needs_the_csrf_token(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    ann = await make_user()
    page = await client.get("/oauth/sign-in")
    form = {"email": ann.user.email, "password": ann.password, "csrf_token": "forged"}
    assert (await client.post("/oauth/sign-in", data=form)).status_code == 400
    form["csrf_token"] = csrf_of(page.text)
    signed_in = await client.post("/oauth/sign-in", data=form)
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"]
    assert "rapport_session=" in cookie and "Max-Age=3600" in cookie


async def test_a_tampered_session_cookie_is_ignored(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    await sign_in(client, ann.user.email, ann.password)
    value = client.cookies["rapport_session"]
    payload, signature = value.split(".")
    client.cookies.set(
        "rapport_session", f"{payload}x.{signature}", domain="rapport.test", path="/"
    )
    _, challenge = pkce_pair()
    response = await client.get(authorize_url("rapport-mobile", challenge))
    assert response.status_code == 303 and "/oauth/sign-in" in response.headers["location"]
