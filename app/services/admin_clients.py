"""OAuth client management for administrators: register, change, rotate secrets, disable.

Every operation needs an account whose role is admin, read on each request (roles change).
Secrets are returned once and stored only as hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, Forbidden, NotFound
from app.core.revocation_log import Reason, revoke
from app.core.secrets import new_token, token_hash
from app.core.security import Member
from app.models.base import utcnow
from app.models.oauth import OAuthClient, RefreshToken
from app.models.users import Role, User
from app.services.clients import RegisteredClient, check_client_settings, register_client


class NotAdmin(Forbidden):
    slug = "not-admin"
    title = "Administrators only"


class ClientNotFound(NotFound):
    slug = "client-not-found"
    title = "Client not found"


class PublicClientHasNoSecret(Conflict):
    slug = "client-is-public"
    title = "A public client has no secret"


@dataclass(frozen=True)
class ClientChanges:
    name: str | None = None
    redirect_uris: list[str] | None = None
    scopes: list[str] | None = None
    disabled: bool | None = None


async def require_admin(session: AsyncSession, me: Member) -> None:
    role = await session.scalar(select(User.role).where(User.id == me.user_id))
    if role is not Role.admin:
        raise NotAdmin("Managing OAuth clients needs an administrator's account.")


async def create_client(
    session: AsyncSession,
    me: Member,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    confidential: bool,
) -> RegisteredClient:
    await require_admin(session, me)
    return await register_client(
        session, name=name, redirect_uris=redirect_uris, scopes=scopes, confidential=confidential
    )


async def list_clients(session: AsyncSession, me: Member, params: PageQuery) -> Window[OAuthClient]:
    await require_admin(session, me)
    return await paginate(
        session, select(OAuthClient), order=(OAuthClient.created_at, OAuthClient.id), params=params
    )


async def get_client(session: AsyncSession, me: Member, client_id: str) -> OAuthClient:
    """A client, for an administrator to read or change."""
    await require_admin(session, me)
    client = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        raise ClientNotFound("No client with this id is registered.")
    return client


async def _revoke_tokens(session: AsyncSession, client_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.client_id == client_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await revoke(session, reason=Reason.client_disabled, client_id=client_id)


async def update_client(
    session: AsyncSession, client: OAuthClient, changes: ClientChanges
) -> OAuthClient:
    redirect_uris = (
        changes.redirect_uris if changes.redirect_uris is not None else client.redirect_uris
    )
    scopes = changes.scopes if changes.scopes is not None else client.allowed_scopes
    check_client_settings(
        redirect_uris=redirect_uris, scopes=scopes, confidential=client.is_confidential
    )
    if changes.name is not None:
        client.name = changes.name
    client.redirect_uris = list(redirect_uris)
    client.allowed_scopes = list(dict.fromkeys(scopes))
    if changes.disabled is True and client.disabled_at is None:
        client.disabled_at = utcnow()
        await _revoke_tokens(session, client.client_id)
    elif changes.disabled is False:
        client.disabled_at = None
    client.updated_at = utcnow()
    await session.flush()
    return client


async def rotate_secret(session: AsyncSession, client: OAuthClient) -> str:
    """A new secret, replacing the old one at once."""
    if not client.is_confidential:
        raise PublicClientHasNoSecret("A public client authenticates with PKCE, not a secret.")
    secret = new_token(32)
    client.client_secret_hash = token_hash(secret)
    client.secret_rotated_at = client.updated_at = utcnow()
    await session.flush()
    return secret


async def disable_client(session: AsyncSession, client: OAuthClient) -> None:
    """Disable (never delete: tokens, consents and deliveries refer to it) and revoke its
    refresh tokens."""
    await update_client(session, client, ClientChanges(disabled=True))
