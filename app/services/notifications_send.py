"""Sending recorded pushes, after the transaction that recorded them committed.

A run claims due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers share the
work) by moving their next attempt a lease ahead and counting the attempt, commits, sends,
and records each outcome: `sent`; `unregistered`, which deletes the device (the token is dead);
`retry` (429, 5xx, a network error), which waits `Retry-After` or an exponential back-off,
whichever is longer, before the next attempt, and gives up after `MAX_ATTEMPTS`; `failed`.
A worker that dies mid-send leaves the claim to expire: the push may then go out twice
(at least once), never in a tight loop.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.push import DeliveryState, Device, NotificationKind, PushDelivery
from app.models.users import User
from app.push.base import Outcome, SendResult
from app.push.senders import Senders
from app.services.notifications import message_for

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
STALE = timedelta(hours=12)
"""A push still unsent this long after it was due (no worker ran) is dropped: its news is
old."""


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: uuid.UUID
    device_id: uuid.UUID
    provider: str
    token: str
    kind: NotificationKind
    key: str
    data: dict[str, str]
    attempts: int
    locale: str
    """The device's language, else its owner's: the push's text is in it."""


def backoff(attempts: int) -> timedelta:
    wait: timedelta = BASE_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(wait, MAX_BACKOFF)


async def _claim(session: AsyncSession, now: datetime, limit: int) -> list[Claimed]:
    statement = (
        select(PushDelivery, Device, User.locale)
        .join(Device, Device.id == PushDelivery.device_id)
        .join(User, User.id == Device.user_id)
        .where(PushDelivery.state == DeliveryState.pending, PushDelivery.next_attempt_at <= now)
        .order_by(PushDelivery.next_attempt_at, PushDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=PushDelivery, skip_locked=True)
    claimed: list[Claimed] = []
    for delivery, device, owner_locale in (await session.execute(statement)).all():
        if delivery.next_attempt_at < now - STALE:
            delivery.state = DeliveryState.failed
            delivery.last_error = "stale"
            continue
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        claimed.append(
            Claimed(
                delivery.id,
                device.id,
                device.provider.value,
                device.token,
                delivery.kind,
                delivery.key,
                dict(delivery.data or {}),
                delivery.attempts,
                device.locale or owner_locale,
            )
        )
    return claimed


async def _record(session: AsyncSession, item: Claimed, result: SendResult, now: datetime) -> None:
    delivery = await session.get(PushDelivery, item.delivery_id, with_for_update=True)
    if delivery is None:
        return  # the device went meanwhile
    delivery.last_error = result.reason[:64] or None
    if result.outcome is Outcome.sent:
        delivery.state = DeliveryState.sent
        delivery.sent_at = now
        delivery.last_error = None
    elif result.outcome is Outcome.unregistered:
        await session.execute(delete(PushDelivery).where(PushDelivery.device_id == item.device_id))
        await session.execute(delete(Device).where(Device.id == item.device_id))
    elif result.outcome is Outcome.retry and item.attempts < MAX_ATTEMPTS:
        wait = max(backoff(item.attempts), timedelta(seconds=result.retry_after or 0))
        delivery.next_attempt_at = now + wait
    else:
        delivery.state = DeliveryState.failed


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    senders: Senders,
    now: datetime,
    limit: int = 100,
) -> int:
    """Send what is due at `now`; the number of sends attempted."""
    async with sessionmaker() as session, session.begin():
        claimed = await _claim(session, now, limit)
    for item in claimed:
        sender = senders.for_provider(item.provider)
        result = await sender.send(
            item.token, message_for(item.kind, item.data, item.key, item.locale)
        )
        async with sessionmaker() as session, session.begin():
            await _record(session, item, result, now)
    return len(claimed)
