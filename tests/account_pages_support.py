"""Helpers that fill in the account pages the way a browser would."""

from __future__ import annotations

import httpx

from tests.oauth.flow import csrf_of


async def submit(
    browser: httpx.AsyncClient, page_path: str, action: str, **fields: str
) -> httpx.Response:
    """GET a page (for its CSRF token and cookie), then POST its form to `action`."""
    page = await browser.get(page_path)
    assert page.status_code == 200, page.text
    return await browser.post(action, data={"csrf_token": csrf_of(page.text), **fields})


async def sign_up(
    browser: httpx.AsyncClient,
    email: str,
    password: str = "a long enough passphrase",  # noqa: S107 - a test account
    *,
    display_name: str = "Ann",
    next_url: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    page = await browser.get("/oauth/sign-up", params={"next": next_url} if next_url else None)
    assert page.status_code == 200, page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "next": next_url,
        "email": email,
        "password": password,
        "display_name": display_name,
    }
    return await browser.post("/oauth/sign-up", data=form, headers=headers)


async def forgot(browser: httpx.AsyncClient, email: str) -> httpx.Response:
    return await submit(browser, "/oauth/forgot-password", "/oauth/forgot-password", email=email)


async def reset(
    browser: httpx.AsyncClient, link: str, password: str, confirm: str | None = None
) -> httpx.Response:
    """Open the mailed reset link and submit a new password."""
    page = await browser.get(link)
    if page.status_code != 200:
        return page
    token = link.split("token=", 1)[1]
    form = {
        "csrf_token": csrf_of(page.text),
        "token": token,
        "password": password,
        "confirm": password if confirm is None else confirm,
    }
    return await browser.post("/oauth/reset-password", data=form)
