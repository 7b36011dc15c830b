"""CORS for browser clients, answered only where a cross-origin read is meant to happen.

Origins come from `settings.cors_origins` (none by default, in every environment). The API
(`/v1/...`), the token and revocation endpoints and the public metadata (`/.well-known/...`)
get Starlette's `CORSMiddleware`; the server-rendered sign-in, consent and sign-out pages never
do: a page another origin could read (or drive with credentials) would leak its CSRF token
and invite clickjacking, so those paths pass straight to the app with no CORS headers at all.
Credentials (cookies) are never allowed cross-origin: the API authenticates with bearer
tokens, which a browser only sends when the calling script adds them.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

CORS_PATH_PREFIXES = ("/v1/", "/.well-known/")
CORS_PATHS = frozenset({"/oauth/token", "/oauth/revoke"})
EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "Link",
    "X-Request-ID",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "Deprecation",
    "Sunset",
    "Idempotent-Replayed",
    "WWW-Authenticate",
)
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
)
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
PREFLIGHT_MAX_AGE = 600


def cors_applies(path: str) -> bool:
    return path in CORS_PATHS or path.startswith(CORS_PATH_PREFIXES)


class ScopedCORSMiddleware:
    """Starlette's CORS engine for the paths `cors_applies` to; the app as is elsewhere."""

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and cors_applies(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
