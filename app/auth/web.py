"""What the server-rendered pages need: a signed sign-in cookie, CSRF tokens, templates.

Values are signed with HMAC-SHA256 under keys derived from `settings.secret_key`, one key
per purpose, so a signature made for one cookie is never accepted for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.config import Settings
from app.core.secrets import new_token

CSRF_FIELD = "csrf_token"
# `__Host-` cookies (RFC 6265bis) must be Secure, have Path=/ and no Domain: no other host or
# path on the same site can plant or shadow them. Browsers keep Secure cookies from plain
# http, so a development server on http uses the same names without the prefix.
COOKIE_PATH = "/"
SESSION_SECONDS = 3600

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

# No scripts at all. No form-action either: browsers apply it to the redirect that follows
# the consent form, which goes to the client's own redirect URI.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(settings: Settings, purpose: str) -> bytes:
    return hmac.new(
        settings.secret_key.encode(), f"rapport:{purpose}".encode(), hashlib.sha256
    ).digest()


def _mac(settings: Settings, purpose: str, data: bytes) -> bytes:
    return hmac.new(_key(settings, purpose), data, hashlib.sha256).digest()


def sign(settings: Settings, purpose: str, payload: bytes) -> str:
    return f"{_b64(payload)}.{_b64(_mac(settings, purpose, payload))}"


def unsign(settings: Settings, purpose: str, value: str) -> bytes | None:
    encoded, _, signature = value.partition(".")
    try:
        payload, given = _unb64(encoded), _unb64(signature)
    except (ValueError, TypeError):
        return None
    return payload if hmac.compare_digest(given, _mac(settings, purpose, payload)) else None


def _secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def session_cookie(settings: Settings) -> str:
    return "__Host-rapport_session" if _secure(settings) else "rapport_session"


def csrf_cookie(settings: Settings) -> str:
    return "__Host-rapport_csrf" if _secure(settings) else "rapport_csrf"


# -- the sign-in session --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignIn:
    user_id: uuid.UUID
    auth_time: int
    session_id: str
    """Random per sign-in; CSRF tokens are bound to it."""


def read_sign_in(request: Request, settings: Settings) -> SignIn | None:
    value = request.cookies.get(session_cookie(settings))
    payload = unsign(settings, "session", value) if value else None
    if payload is None:
        return None
    try:
        data: dict[str, Any] = json.loads(payload)
        expires, user_id, auth_time = int(data["exp"]), uuid.UUID(data["uid"]), int(data["at"])
        session_id = str(data["sid"])
    except (ValueError, KeyError, TypeError):
        return None
    return SignIn(user_id, auth_time, session_id) if expires > time.time() else None


def set_sign_in(response: Response, settings: Settings, user_id: uuid.UUID) -> None:
    now = int(time.time())
    payload = json.dumps(
        {"uid": str(user_id), "at": now, "exp": now + SESSION_SECONDS, "sid": new_token(16)}
    )
    response.set_cookie(
        session_cookie(settings),
        sign(settings, "session", payload.encode()),
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        secure=_secure(settings),
        httponly=True,
        samesite="lax",
    )


def clear_sign_in(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        session_cookie(settings),
        path=COOKIE_PATH,
        secure=_secure(settings),
        httponly=True,
        samesite="lax",
    )


# -- CSRF: a signed double-submit token, bound to the sign-in session ---------------------------


def _csrf_mac(request: Request, settings: Settings, nonce: str) -> str:
    # Bound to the sign-in session (none before sign-in): a token read from one session's
    # page is refused in another, and signing in or out invalidates the forms made before.
    sign_in = read_sign_in(request, settings)
    bound = f"{nonce}|{sign_in.session_id if sign_in else ''}"
    return _b64(_mac(settings, "csrf", bound.encode()))


def csrf_token(request: Request, settings: Settings) -> tuple[str, str]:
    """The browser's CSRF nonce (its cookie, made when missing) and the token forms carry."""
    nonce = request.cookies.get(csrf_cookie(settings)) or new_token(16)
    return nonce, _csrf_mac(request, settings, nonce)


def csrf_valid(request: Request, settings: Settings, submitted: str | None) -> bool:
    nonce = request.cookies.get(csrf_cookie(settings))
    if not nonce or not submitted:
        return False
    expected = _csrf_mac(request, settings, nonce)
    return hmac.compare_digest(expected.encode(), submitted.encode())


def render(
    request: Request,
    settings: Settings,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page with a CSRF token, keeping (or setting) the browser's CSRF cookie."""
    nonce, token = csrf_token(request, settings)
    html = _templates.get_template(template).render(
        csrf_field=CSRF_FIELD, csrf_token=token, **context
    )
    response = HTMLResponse(
        html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
    if request.cookies.get(csrf_cookie(settings)) != nonce:
        response.set_cookie(
            csrf_cookie(settings),
            nonce,
            path=COOKIE_PATH,
            secure=_secure(settings),
            httponly=True,
            samesite="lax",
        )
    return response
