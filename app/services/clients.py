"""OAuth clients: registration, redirect-URI rules, secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict, FieldError, UnprocessableContent
from app.core.redirects import is_loopback_redirect
from app.core.secrets import new_token, token_hash
from app.core.security import MEMBER_SCOPES, Scope
from app.models.oauth import OAuthClient

FIRST_PARTY_CLIENT_ID = "rapport-mobile"
DOCS_CLIENT_ID = "rapport-docs"
DOCS_REDIRECT_PATH = "/docs/oauth2-redirect"


async def is_first_party(session: AsyncSession, client_id: str) -> bool:
    """Whether the client is one of Rapport's own apps (a disabled one no longer is)."""
    if client_id == FIRST_PARTY_CLIENT_ID:
        return True
    flag = await session.scalar(
        select(OAuthClient.is_first_party).where(
            OAuthClient.client_id == client_id, OAuthClient.disabled_at.is_(None)
        )
    )
    return bool(flag)


FIRST_PARTY_REDIRECT_URIS = (
    "http://127.0.0.1/oauth/callback",
    "http://[::1]/oauth/callback",
    "app.rapport:/oauth/callback",
)
_PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$")


@dataclass(frozen=True)
class RegisteredClient:
    client: OAuthClient
    secret: str | None


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be registered, or None when it can (RFC 8252, RFC 9700)."""
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if parts.scheme == "https":
        return None if parts.hostname else "must name a host"
    if parts.scheme == "http":
        return (
            None if is_loopback_redirect(uri) else "http is allowed only for loopback IP literals"
        )
    if _PRIVATE_SCHEME.match(parts.scheme):
        return None
    return "must be https, a loopback http address, or a reverse-domain private-use scheme"


def check_client_settings(
    *, redirect_uris: list[str], scopes: list[str], confidential: bool
) -> None:
    """Refuse redirect URIs and scopes a client cannot have (422, naming each field)."""
    errors = [
        FieldError(pointer=f"#/redirect_uris/{i}", detail=problem)
        for i, uri in enumerate(redirect_uris)
        if (problem := redirect_uri_problem(uri))
    ]
    known = {s.value for s in Scope}
    errors += [
        FieldError(pointer=f"#/scopes/{i}", detail=f"unknown scope {scope!r}")
        for i, scope in enumerate(scopes)
        if scope not in known
    ]
    if not confidential and not redirect_uris:
        errors.append(
            FieldError(pointer="#/redirect_uris", detail="a public client needs a redirect URI")
        )
    if errors:
        raise UnprocessableContent("The client registration is not valid.", errors=errors)


class ClientExists(Conflict):
    slug = "client-exists"
    title = "A client with this id exists"


async def register_client(
    session: AsyncSession,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    confidential: bool,
    first_party: bool = False,
    client_id: str | None = None,
) -> RegisteredClient:
    check_client_settings(redirect_uris=redirect_uris, scopes=scopes, confidential=confidential)
    client_id = client_id or new_token(16)
    if await session.scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id)):
        raise ClientExists(f"A client with id {client_id} is already registered.")
    secret = new_token(32) if confidential else None
    client = OAuthClient(
        client_id=client_id,
        client_secret_hash=token_hash(secret) if secret else None,
        name=name,
        redirect_uris=list(redirect_uris),
        allowed_scopes=list(dict.fromkeys(scopes)),
        is_confidential=confidential,
        is_first_party=first_party,
    )
    session.add(client)
    await session.flush()
    return RegisteredClient(client=client, secret=secret)


async def get_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return await session.scalar(
        select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.disabled_at.is_(None)
        )
    )


async def ensure_first_party_client(session: AsyncSession) -> OAuthClient:
    """Register the first-party mobile client once; later runs leave it as it is."""
    existing = await get_client(session, FIRST_PARTY_CLIENT_ID)
    if existing is not None:
        return existing
    registered = await register_client(
        session,
        name="Rapport mobile",
        redirect_uris=list(FIRST_PARTY_REDIRECT_URIS),
        scopes=sorted(s.value for s in MEMBER_SCOPES),
        confidential=False,
        first_party=True,
        client_id=FIRST_PARTY_CLIENT_ID,
    )
    return registered.client


async def ensure_docs_client(session: AsyncSession, public_url: str) -> OAuthClient | None:
    """The interactive docs' own public client (development): PKCE, redirected to `/docs`.

    None when the public URL cannot carry such a redirect (plain http on a name other than
    a loopback IP literal)."""
    redirect = public_url.rstrip("/") + DOCS_REDIRECT_PATH
    if redirect_uri_problem(redirect) is not None:
        return None
    existing = await get_client(session, DOCS_CLIENT_ID)
    if existing is not None:
        if redirect not in existing.redirect_uris:
            existing.redirect_uris = [*existing.redirect_uris, redirect]
        return existing
    registered = await register_client(
        session,
        name="Rapport API docs",
        redirect_uris=[redirect],
        scopes=sorted(s.value for s in MEMBER_SCOPES),
        confidential=False,
        client_id=DOCS_CLIENT_ID,
    )
    return registered.client
