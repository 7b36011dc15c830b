"""A local OpenID Connect provider on 127.0.0.1, standing in for Apple's and Google's servers.

One Starlette app under uvicorn serves two tenants, `/google` and `/apple`, each with its own
issuer, signing keys it generates, discovery document, JWKS, authorization endpoint (which
signs in `tenant.person` at once) and token endpoint (PKCE S256 checked; Google's client
secret compared; Apple's client secret JWT verified with the public half of the test key).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import html
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

GOOGLE_CLIENT_ID = "rapport-web.apps.googleusercontent.test"
GOOGLE_SECRET = "google-test-secret"
APPLE_CLIENT_ID = "app.rapport.signin"
APPLE_TEAM_ID = "TEAM123456"
APPLE_KEY_ID = "APPLEKEY01"
NATIVE_APPLE_AUDIENCE = "app.rapport.ios"


@dataclass
class Person:
    sub: str
    email: str | None = None
    email_verified: bool | str = True
    name: str | None = None


@dataclass
class Tenant:
    name: str
    issuer: str
    client_id: str
    keys: list[RSAKey | ECKey] = field(default_factory=list)
    person: Person = field(default_factory=lambda: Person(sub=secrets.token_hex(8)))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    jwks_requests: int = 0
    override_claims: dict[str, Any] = field(default_factory=dict)
    """Claims the token endpoint's id tokens carry instead (a replayed nonce, another aud)."""
    apple_secret_key: ECKey | None = None

    def rotate(self, *, alg: str = "RS256") -> RSAKey | ECKey:
        """A new signing key, published alone (the old one is withdrawn)."""
        kid = secrets.token_hex(6)
        key: RSAKey | ECKey
        if alg == "ES256":
            key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": alg}, private=True)
        else:
            key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": alg}, private=True)
        self.keys = [key]
        return key

    def mint(
        self,
        *,
        person: Person | None = None,
        key: RSAKey | ECKey | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """An id token as this provider would sign it; `claims` override or add (None drops)."""
        who = person or self.person
        signer = key or self.keys[0]
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": who.sub,
            "iat": now,
            "exp": now + 600,
            "email": who.email,
            "email_verified": who.email_verified,
            "name": who.name,
            "jti": secrets.token_hex(8),
        }
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        alg = "ES256" if isinstance(signer, ECKey) else "RS256"
        return jwt.encode({"alg": alg, "kid": signer.kid, **(header or {})}, body, signer)


@functools.cache
def _first_keys() -> tuple[RSAKey, ECKey, ECKey]:
    """The keys every provider starts with, made once per process: an RSA key costs tens of
    milliseconds, and each test's app fetches its provider's keys afresh anyway. A test that
    needs keys never seen before rotates."""
    google = RSAKey.generate_key(
        2048, parameters={"kid": secrets.token_hex(6), "alg": "RS256"}, private=True
    )
    apple = ECKey.generate_key(
        "P-256", parameters={"kid": secrets.token_hex(6), "alg": "ES256"}, private=True
    )
    return google, apple, ECKey.generate_key("P-256", private=True)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class IdentityProvider:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.google = Tenant("google", f"{base_url}/google", GOOGLE_CLIENT_ID)
        self.apple = Tenant("apple", f"{base_url}/apple", APPLE_CLIENT_ID)
        google_key, apple_key, apple_secret_key = _first_keys()
        self.google.keys, self.apple.keys = [google_key], [apple_key]
        self.apple.apple_secret_key = apple_secret_key
        self.tenants = {"google": self.google, "apple": self.apple}
        self.asgi = self.app()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{tenant}/.well-known/openid-configuration", self.discovery),
                Route("/{tenant}/jwks", self.jwks),
                Route("/{tenant}/authorize", self.authorize),
                Route("/{tenant}/token", self.token, methods=["POST"]),
            ]
        )

    def _tenant(self, request: Request) -> Tenant:
        return self.tenants[request.path_params["tenant"]]

    async def discovery(self, request: Request) -> Response:
        tenant = self._tenant(request)
        return JSONResponse(
            {
                "issuer": tenant.issuer,
                "authorization_endpoint": f"{tenant.issuer}/authorize",
                "token_endpoint": f"{tenant.issuer}/token",
                "jwks_uri": f"{tenant.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        tenant = self._tenant(request)
        tenant.jwks_requests += 1
        return JSONResponse(KeySet(list(tenant.keys)).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        tenant = self._tenant(request)
        params = request.query_params
        if params.get("client_id") != tenant.client_id or params.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        tenant.codes[code] = {
            "redirect_uri": params["redirect_uri"],
            "challenge": params["code_challenge"],
            "nonce": params.get("nonce"),
            "person": tenant.person,
        }
        answer = {"code": code, "state": params.get("state", "")}
        if params.get("response_mode") == "form_post":
            # Apple posts a form to the redirect URI; the tests submit it by hand.
            fields = "".join(
                f'<input type="hidden" name="{n}" value="{v}">' for n, v in answer.items()
            )
            page = f'<form method="post" action="{params["redirect_uri"]}">{fields}</form>'
            return Response(page, media_type="text/html")
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(answer)}", status_code=302)

    def _client_ok(self, tenant: Tenant, form: dict[str, str]) -> bool:
        if form.get("client_id") != tenant.client_id:
            return False
        secret = form.get("client_secret", "")
        if tenant.apple_secret_key is None:
            return secrets.compare_digest(secret, GOOGLE_SECRET)
        try:
            token = jwt.decode(secret, tenant.apple_secret_key, algorithms=["ES256"])
        except ValueError:
            return False
        claims = token.claims
        return (
            token.header.get("kid") == APPLE_KEY_ID
            and claims.get("iss") == APPLE_TEAM_ID
            and claims.get("sub") == tenant.client_id
            and claims.get("aud") == tenant.issuer
            and int(claims.get("exp", 0)) > time.time()
        )

    async def token(self, request: Request) -> Response:
        tenant = self._tenant(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not self._client_ok(tenant, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = tenant.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if _s256(form.get("code_verifier", "")) != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        claims = {"nonce": grant["nonce"], **tenant.override_claims}
        id_token = tenant.mint(person=grant["person"], **claims)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "id_token": id_token,
            }
        )


class _Door:
    """The ASGI app the shared server runs: it hands each request to the current test's
    provider (none between tests: 503)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.current: IdentityProvider | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.current is None:
            await Response("no provider now", status_code=503)(scope, receive, send)
            return
        await self.current.asgi(scope, receive, send)


@asynccontextmanager
async def serving_door() -> AsyncIterator[_Door]:
    """A `_Door` under uvicorn on a free 127.0.0.1 port, in the current event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    door = _Door(f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = uvicorn.Server(uvicorn.Config(door, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "the identity provider did not start"
        yield door
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


def provider_settings(idp: IdentityProvider) -> dict[str, Any]:
    """Settings that point Rapport's Google and Apple at the local provider."""
    assert idp.apple.apple_secret_key is not None
    pem = idp.apple.apple_secret_key.as_pem(private=True).decode()
    return {
        "google_client_id": GOOGLE_CLIENT_ID,
        "google_client_secret": SecretStr(GOOGLE_SECRET),
        "google_issuer": idp.google.issuer,
        "apple_client_id": APPLE_CLIENT_ID,
        "apple_team_id": APPLE_TEAM_ID,
        "apple_key_id": APPLE_KEY_ID,
        "apple_private_key": SecretStr(pem),
        "apple_issuer": idp.apple.issuer,
        "apple_native_audiences": [NATIVE_APPLE_AUDIENCE],
    }


@pytest.fixture(scope="session")
async def idp_door() -> AsyncIterator[_Door]:
    """One provider server for the whole run (starting and stopping uvicorn for each test
    was a fifth of the federation tests' time)."""
    async with serving_door() as door:
        yield door


@pytest.fixture
def idp(idp_door: _Door) -> Iterator[IdentityProvider]:
    """A fresh provider (its own people, codes and counters) behind the shared server."""
    idp_door.current = IdentityProvider(idp_door.base_url)
    try:
        yield idp_door.current
    finally:
        idp_door.current = None


@pytest.fixture
def federated(app: FastAPI, idp: IdentityProvider) -> Iterator[IdentityProvider]:
    """The test app with Apple and Google pointed at the local provider, for one test."""
    original = app.state.settings
    app.state.settings = original.model_copy(update=provider_settings(idp))
    try:
        yield idp
    finally:
        app.state.settings = original


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)">')


def button_url(page: str, label: str) -> str:
    match = re.search(rf'<a class="button" href="([^"]+)">Continue with {label}</a>', page)
    assert match is not None, page
    return html.unescape(match.group(1))


async def through_provider(
    browser: httpx.AsyncClient, start: httpx.Response
) -> tuple[httpx.Response, str]:
    """Follow the start redirect to the provider and back: the callback's response, and the
    callback URL (path and query) the browser was sent to."""
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient() as outside:
        answer = await outside.get(start.headers["location"])
    if answer.status_code == 200:  # Apple: a form posted back to the callback
        action = html.unescape(_ACTION.findall(answer.text)[0])
        fields = dict(_HIDDEN.findall(answer.text))
        posted = await browser.post(urlsplit(action).path, data=fields)
        assert posted.status_code == 303, posted.text
        callback = posted.headers["location"]
    else:
        assert answer.status_code == 302, answer.text
        parts = urlsplit(answer.headers["location"])
        callback = f"{parts.path}?{parts.query}"
    return await browser.get(callback), callback
