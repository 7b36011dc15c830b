"""The browser side of signing in with Apple or Google: what the pages keep between requests.

Two short-lived cookies, signed like the sign-in session (`app.auth.web.sign`, one key per
purpose):

- the *flow*: provider, `state`, `nonce`, the PKCE verifier and the Rapport authorization
  request to continue (`next`). The callback accepts only the `state` of this browser's flow,
  so a callback URL made in another browser (login CSRF) is refused;
- the *pending link*: a verified provider identity whose email belongs to an existing account,
  waiting for that account's password before the two are linked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from app.auth.oidc import VerifiedIdentity
from app.auth.oidc_providers import federation_of
from app.auth.web import COOKIE_PATH, sign, unsign
from app.config import Settings

FEDERATION_PREFIX = "/oauth/federation"
FLOW_SECONDS = 600
LINK_SECONDS = 600


def start_path(provider: str) -> str:
    return f"{FEDERATION_PREFIX}/{provider}/start"


def callback_path(provider: str) -> str:
    return f"{FEDERATION_PREFIX}/{provider}/callback"


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def redirect_uri(settings: Settings, provider: str) -> str:
    """What is registered with the provider as the return URL."""
    return settings.public_url + callback_path(provider)


def federation_buttons(request: Request, next_url: str) -> list[dict[str, str]]:
    """The "Continue with …" buttons of the sign-in page: one per enabled provider."""
    federation = federation_of(request.app.state)
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return [
        {"name": name, "label": provider.label, "url": start_path(name) + query}
        for name, provider in sorted(federation.providers.items())
    ]


def _secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def _cookie(settings: Settings, name: str) -> str:
    return f"__Host-rapport_{name}" if _secure(settings) else f"rapport_{name}"


def _set(response: Response, settings: Settings, name: str, data: dict[str, Any], ttl: int) -> None:
    payload = json.dumps({**data, "exp": int(time.time()) + ttl}).encode()
    response.set_cookie(
        _cookie(settings, name),
        sign(settings, f"federation-{name}", payload),
        max_age=ttl,
        path=COOKIE_PATH,
        secure=_secure(settings),
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to the callback
    )


def _read(request: Request, settings: Settings, name: str) -> dict[str, Any] | None:
    value = request.cookies.get(_cookie(settings, name))
    payload = unsign(settings, f"federation-{name}", value) if value else None
    if payload is None:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or int(data.get("exp", 0)) <= time.time():
        return None
    return data


def _clear(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        _cookie(settings, name),
        path=COOKIE_PATH,
        secure=_secure(settings),
        httponly=True,
        samesite="lax",
    )


@dataclass(frozen=True, slots=True)
class Flow:
    provider: str
    state: str
    nonce: str
    verifier: str
    next: str


def set_flow(response: Response, settings: Settings, flow: Flow) -> None:
    _set(response, settings, "flow", asdict(flow), FLOW_SECONDS)


def read_flow(request: Request, settings: Settings) -> Flow | None:
    data = _read(request, settings, "flow")
    try:
        return Flow(**{k: str(data[k]) for k in Flow.__slots__}) if data else None
    except KeyError:
        return None


def clear_flow(response: Response, settings: Settings) -> None:
    _clear(response, settings, "flow")


@dataclass(frozen=True, slots=True)
class PendingLink:
    identity: VerifiedIdentity
    owner_id: uuid.UUID
    owner_email: str
    next: str


def set_pending_link(response: Response, settings: Settings, pending: PendingLink) -> None:
    data = {
        "identity": asdict(pending.identity),
        "owner_id": str(pending.owner_id),
        "owner_email": pending.owner_email,
        "next": pending.next,
    }
    _set(response, settings, "link", data, LINK_SECONDS)


def read_pending_link(request: Request, settings: Settings) -> PendingLink | None:
    data = _read(request, settings, "link")
    if data is None:
        return None
    try:
        return PendingLink(
            identity=VerifiedIdentity(**data["identity"]),
            owner_id=uuid.UUID(data["owner_id"]),
            owner_email=str(data["owner_email"]),
            next=str(data["next"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def clear_pending_link(response: Response, settings: Settings) -> None:
    _clear(response, settings, "link")
