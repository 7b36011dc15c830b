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

SESSION_COOKIE = "rapport_session"
CSRF_COOKIE = "rapport_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/oauth"
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


# -- the sign-in session --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignIn:
    user_id: uuid.UUID
    auth_time: int


def read_sign_in(request: Request, settings: Settings) -> SignIn | None:
    value = request.cookies.get(SESSION_COOKIE)
    payload = unsign(settings, "session", value) if value else None
    if payload is None:
        return None
    try:
        data: dict[str, Any] = json.loads(payload)
        expires, user_id, auth_time = int(data["exp"]), uuid.UUID(data["uid"]), int(data["at"])
    except (ValueError, KeyError, TypeError):
        return None
    return SignIn(user_id, auth_time) if expires > time.time() else None


def set_sign_in(response: Response, settings: Settings, user_id: uuid.UUID) -> None:
    now = int(time.time())
    payload = json.dumps({"uid": str(user_id), "at": now, "exp": now + SESSION_SECONDS})
    response.set_cookie(
        SESSION_COOKIE,
        sign(settings, "session", payload.encode()),
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        secure=_secure(settings),
        httponly=True,
        samesite="lax",
    )


# -- CSRF: a signed double-submit token -------------------------------------------------------


def csrf_token(request: Request, settings: Settings) -> tuple[str, str]:
    """The browser's CSRF nonce (its cookie, made when missing) and the token forms carry."""
    nonce = request.cookies.get(CSRF_COOKIE) or new_token(16)
    return nonce, _b64(_mac(settings, "csrf", nonce.encode()))


def csrf_valid(request: Request, settings: Settings, submitted: str | None) -> bool:
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not submitted:
        return False
    expected = _b64(_mac(settings, "csrf", nonce.encode()))
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
    if request.cookies.get(CSRF_COOKIE) != nonce:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            path=COOKIE_PATH,
            secure=_secure(settings),
            httponly=True,
            samesite="lax",
        )
    return response
