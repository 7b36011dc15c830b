"""The apps a person connected: listing them, and disconnecting one.

An app is connected while it holds a live consent (third-party apps) or a live refresh token
(any app, Rapport's own included). Disconnecting revokes both at once and records a
`consent.revoked` event. The access tokens already issued to the app for the person stop
working at once, on every process (`core/revocation_log.py`), and the consent checks stop
webhook events for the person at once. Each app shows the sensitive scopes it holds and
when it last read the person's private writing (from the access log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.core.problems import NotFound
from app.core.revocation_log import Reason, revoke
from app.core.security import SENSITIVE_SCOPES, Member
from app.models.base import utcnow
from app.models.couples import CoupleMember
from app.models.oauth import Consent, OAuthClient, RefreshToken
from app.services.access_log import last_private_reads
from app.services.users import revoke_refresh_tokens


class ConnectedAppNotFound(NotFound):
    slug = "connected-app-not-found"
    title = "Connected app not found"


@dataclass
class ConnectedApp:
    client_id: str
    name: str
    first_party: bool
    granted_at: datetime
    updated_at: datetime
    scopes: list[str] = field(default_factory=list)
    private_read_at: datetime | None = None

    @property
    def sensitive_scopes(self) -> list[str]:
        return [scope for scope in self.scopes if scope in SENSITIVE_SCOPES]


async def list_connected_apps(session: AsyncSession, me: Member) -> list[ConnectedApp]:
    user_id = me.user_id
    apps: dict[str, ConnectedApp] = {}
    consents = await session.execute(
        select(Consent, OAuthClient.name)
        .join(OAuthClient, OAuthClient.client_id == Consent.client_id)
        .where(
            Consent.user_id == user_id,
            Consent.revoked_at.is_(None),
            OAuthClient.is_first_party.is_(False),
        )
    )
    for consent, name in consents:
        apps[consent.client_id] = ConnectedApp(
            client_id=consent.client_id,
            name=name,
            first_party=False,
            granted_at=consent.created_at,
            updated_at=consent.updated_at,
            scopes=list(consent.scopes),
        )
    tokens = await session.execute(
        select(
            RefreshToken.client_id,
            OAuthClient.name,
            OAuthClient.is_first_party,
            RefreshToken.scope,
            func.min(RefreshToken.issued_at),
            func.max(RefreshToken.issued_at),
        )
        .join(OAuthClient, OAuthClient.client_id == RefreshToken.client_id)
        .where(
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.rotated_at.is_(None),
            RefreshToken.expires_at > utcnow(),
        )
        .group_by(
            RefreshToken.client_id, OAuthClient.name, OAuthClient.is_first_party, RefreshToken.scope
        )
    )
    for client_id, name, first_party, scope, first, last in tokens:
        app = apps.get(client_id)
        if app is None:
            app = apps[client_id] = ConnectedApp(
                client_id=client_id,
                name=name,
                first_party=first_party,
                granted_at=first,
                updated_at=last,
            )
        app.scopes = list(dict.fromkeys([*app.scopes, *scope.split()]))
    if apps:
        for client_id, last in (await last_private_reads(session, user_id)).items():
            if client_id in apps:
                apps[client_id].private_read_at = last
    return sorted(apps.values(), key=lambda app: (app.granted_at, app.client_id))


async def disconnect_app(session: AsyncSession, me: Member, client_id: str) -> None:
    """Revoke the person's consent to the app and every refresh token it holds for them."""
    user_id = me.user_id
    connected = {app.client_id for app in await list_connected_apps(session, me)}
    if client_id not in connected:
        raise ConnectedAppNotFound("You have not connected an app with this id.")
    consent = await session.scalar(
        select(Consent).where(
            Consent.user_id == user_id,
            Consent.client_id == client_id,
            Consent.revoked_at.is_(None),
        )
    )
    if consent is not None:
        consent.revoked_at = utcnow()
    await revoke_refresh_tokens(session, user_id, client_id=client_id)
    await revoke(session, reason=Reason.app_disconnected, user_id=user_id, client_id=client_id)
    couple_id = await session.scalar(
        select(CoupleMember.couple_id).where(CoupleMember.active_user_id == user_id)
    )
    await append_event(
        session, "consent.revoked", user_id=user_id, couple_id=couple_id, client_id=client_id
    )
