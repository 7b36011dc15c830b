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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
        if scope["type"] != "http" or not cors_applies(scope["path"]):
            await self.app(scope, receive, send)
        elif any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)
        else:
            # No Origin, so no CORS: Starlette's answer is the app's with `Vary: Origin`
            # added, which costs less done here than through its header objects.
            await self.app(scope, receive, _varying_on_origin(send))


def _varying_on_origin(send: Send) -> Send:
    async def send_varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            at = next((i for i, (name, _) in enumerate(headers) if name.lower() == b"vary"), None)
            varies = [value for name, value in headers if name.lower() == b"vary"]
            merged = (b"vary", b", ".join([*varies, b"Origin"]))
            if at is None:
                headers.append(merged)
            else:  # in the first one's place, as Starlette puts it
                headers = (
                    headers[:at]
                    + [merged]
                    + [h for h in headers[at + 1 :] if h[0].lower() != b"vary"]
                )
            message["headers"] = headers
        await send(message)

    return send_varying
