"""Retention sweeps: delete what no rule of the API can need any more, in bounded batches.

Each sweep is idempotent (it deletes what is due at the moment it runs; twice is the same as
once) and returns how many rows it deleted. "Now" is the job context's clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Exists, and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from app.core.events import position
from app.jobs.batches import delete_in_batches
from app.jobs.context import JobContext
from app.models.events import Event
from app.models.exports import Export, ExportState
from app.models.idempotency import IdempotencyRecord
from app.models.oauth import AuthorizationCode, RefreshToken
from app.models.push import PushDispatchState
from app.models.revocations import Revocation
from app.models.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDispatchState,
)
from app.services.exports import remove_unreadable_files

MEMBERSHIP_EVENT_TYPES = ("couple.created", "couple.joined", "couple.ended")
"""Kept for good: the sync feed derives each person's couple-membership windows from them
(`app.services.sync._visibility`), so deleting one would change what older events show."""


def _family_is_live(family_id: InstrumentedAttribute[uuid.UUID | None], now: datetime) -> Exists:
    """Some refresh token of the family can still be used."""
    return exists().where(
        RefreshToken.family_id == family_id,
        RefreshToken.expires_at > now,
        RefreshToken.revoked_at.is_(None),
    )


async def sweep_authorization_codes(context: JobContext) -> int:
    """Expired codes, except a used one whose refresh-token family is still live.

    Presenting a used code again revokes the family it was exchanged for (RFC 6749 §4.1.2):
    that code is kept as long as there is a family to revoke.
    """
    now = context.now()
    due = select(AuthorizationCode.id).where(
        AuthorizationCode.expires_at <= now,
        or_(
            AuthorizationCode.family_id.is_(None),
            ~_family_is_live(AuthorizationCode.family_id, now),
        ),
    )
    return await delete_in_batches(context, AuthorizationCode, AuthorizationCode.id, due)


async def sweep_refresh_tokens(context: JobContext) -> int:
    """Refresh-token families whose every token has expired.

    A rotated-out token is what detects a replay (RFC 9700 §4.14): it stays while any token
    of its family could still be used.
    """
    expired_families = (
        select(RefreshToken.family_id)
        .group_by(RefreshToken.family_id)
        .having(func.max(RefreshToken.expires_at) <= context.now())
    )
    due = select(RefreshToken.id).where(RefreshToken.family_id.in_(expired_families))
    return await delete_in_batches(context, RefreshToken, RefreshToken.id, due)


async def sweep_idempotency_records(context: JobContext) -> int:
    """Stored outcomes past their expiry: a retry with that key is a new request anyway."""
    due = select(IdempotencyRecord.id).where(IdempotencyRecord.expires_at <= context.now())
    return await delete_in_batches(context, IdempotencyRecord, IdempotencyRecord.id, due)


async def sweep_revocations(context: JobContext) -> int:
    """Revocations past `expires_at`: every access token they could stop has expired.

    The newest row always stays, so ids only grow (processes read "rows after the last id").
    """
    newest = select(func.max(Revocation.id)).scalar_subquery()
    due = select(Revocation.id).where(
        Revocation.expires_at <= context.now(), Revocation.id < newest
    )
    return await delete_in_batches(context, Revocation, Revocation.id, due)


async def sweep_webhook_history(context: JobContext) -> int:
    """Attempts, then finished deliveries, older than `RAPPORT_SYNC_RETENTION_DAYS`.

    A delivery still pending keeps being retried whatever its age, so it stays.
    """
    cutoff = context.now() - timedelta(days=context.settings.sync_retention_days)
    attempts = select(WebhookAttempt.id).where(WebhookAttempt.started_at < cutoff)
    deliveries = select(WebhookDelivery.id).where(
        WebhookDelivery.created_at < cutoff,
        WebhookDelivery.status != DeliveryStatus.pending,
    )
    return await delete_in_batches(
        context, WebhookAttempt, WebhookAttempt.id, attempts
    ) + await delete_in_batches(context, WebhookDelivery, WebhookDelivery.id, deliveries)


async def sweep_events(context: JobContext) -> int:
    """Events older than `RAPPORT_SYNC_RETENTION_DAYS` plus a margin, that nothing needs.

    A sync cursor older than the retention is refused (410), so no usable cursor points past
    a deleted event; the margin covers events committed a little after the cursor's time.
    Kept: couple-membership events (see `MEMBERSHIP_EVENT_TYPES`), events the webhook
    fan-out or the push fan-out has not passed yet, events a delivery still refers to, and
    the newest event (`seq` must never be handed out twice).
    """
    settings = context.settings
    cutoff = context.now() - timedelta(
        days=settings.sync_retention_days, hours=settings.event_retention_margin_hours
    )
    fanned_out = exists().where(
        position() <= tuple_(WebhookDispatchState.last_xid, WebhookDispatchState.last_seq)
    )
    # The push fan-out reads the same stream: nothing past its mark goes (once it has one).
    pushed = or_(
        ~exists().where(PushDispatchState.id.is_not(None)),
        exists().where(
            position() <= tuple_(PushDispatchState.last_xid, PushDispatchState.last_seq)
        ),
    )
    newest = select(func.max(Event.seq))
    due = select(Event.seq).where(
        and_(
            Event.occurred_at < cutoff,
            Event.type.not_in(MEMBERSHIP_EVENT_TYPES),
            fanned_out,
            pushed,
            Event.seq < newest.scalar_subquery(),
            ~exists().where(WebhookDelivery.event_id == Event.id),
        )
    )
    return await delete_in_batches(context, Event, Event.seq, due)


async def sweep_exports(context: JobContext) -> int:
    """Finished exports past their expiry: the row (with the only copy of the archive's key)
    goes first, then every archive file no row can read, erased accounts' included."""
    due = select(Export.id).where(
        Export.state.in_((ExportState.ready, ExportState.failed)),
        Export.expires_at <= context.now(),
    )
    rows = await delete_in_batches(context, Export, Export.id, due)
    files = await remove_unreadable_files(context.sessionmaker, context.settings.export_directory)
    return rows + files
