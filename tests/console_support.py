"""Signing in to the console through the real sign-in page, and reading its forms."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Person

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, person: Person, next_url: str = "/console"
) -> httpx.Response:
    page = await client.get("/oauth/sign-in", params={"next": next_url})
    return await client.post(
        "/oauth/sign-in",
        data={
            "email": person.user.email,
            "password": person.password,
            "next": next_url,
            "csrf_token": csrf(page.text),
        },
    )


async def post(
    client: httpx.AsyncClient, page: str, action: str, **fields: str | list[str]
) -> httpx.Response:
    """Post a form of `page` with its CSRF token, as the browser would (a list: a field sent
    once per value, like check boxes)."""
    token = csrf((await client.get(page)).text)
    return await client.post(action, data={"csrf_token": token, **fields})


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"]
