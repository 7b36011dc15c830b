"""Helpers that walk the authorization code flow the way a browser and an app would."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

LOOPBACK_REDIRECT = "http://127.0.0.1/oauth/callback"
PRIVATE_REDIRECT = "app.rapport:/oauth/callback"
HTTPS_REDIRECT = "https://closer.example/oauth/callback"
"""A claimed (https) redirect: the only kind that proves which app receives the code."""
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hidden_fields(page: str) -> list[tuple[str, str]]:
    return [(name, html.unescape(value)) for name, value in _HIDDEN.findall(page)]


def csrf_of(page: str) -> str:
    return dict(hidden_fields(page))["csrf_token"]


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def authorize_url(
    client_id: str,
    challenge: str | None,
    *,
    redirect_uri: str = PRIVATE_REDIRECT,
    scope: str | None = "profile",
    state: str = "s-123",
    method: str | None = "S256",
    **extra: str,
) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    params |= {"state": state, **extra}
    if scope is not None:
        params["scope"] = scope
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    return "/oauth/authorize?" + urlencode(params)


async def sign_in(
    browser: httpx.AsyncClient, email: str, password: str, next_url: str = ""
) -> httpx.Response:
    page = await browser.get("/oauth/sign-in", params={"next": next_url} if next_url else None)
    assert page.status_code == 200, page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "next": next_url,
        "email": email,
        "password": password,
    }
    return await browser.post("/oauth/sign-in", data=form)


async def consent(browser: httpx.AsyncClient, page: str, decision: str = "allow") -> httpx.Response:
    return await browser.post(
        "/oauth/authorize", data={**dict(hidden_fields(page)), "decision": decision}
    )


@dataclass
class Grant:
    code: str
    verifier: str
    redirect_uri: str
    location: str


async def obtain_code(
    browser: httpx.AsyncClient,
    client_id: str,
    email: str,
    password: str,
    *,
    redirect_uri: str = PRIVATE_REDIRECT,
    scope: str | None = "profile",
) -> Grant:
    """Sign in (when needed), consent (when asked) and return the code the client receives."""
    verifier, challenge = pkce_pair()
    url = authorize_url(client_id, challenge, redirect_uri=redirect_uri, scope=scope)
    response = await browser.get(url)
    if response.status_code == 303:
        signed_in = await sign_in(
            browser, email, password, query_of(response.headers["location"])["next"]
        )
        assert signed_in.status_code == 303, signed_in.text
        response = await browser.get(signed_in.headers["location"])
    if response.status_code == 200:
        response = await consent(browser, response.text)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    return Grant(query_of(location)["code"], verifier, redirect_uri, location)


async def exchange(
    client: httpx.AsyncClient, grant: Grant, client_id: str, **overrides: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": grant.code,
        "redirect_uri": grant.redirect_uri,
        "code_verifier": grant.verifier,
        "client_id": client_id,
        **overrides,
    }
    return await client.post("/oauth/token", data={k: v for k, v in data.items() if v != ""})


async def refresh(client: httpx.AsyncClient, refresh_token: str, client_id: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return await client.post("/oauth/token", data=data)
