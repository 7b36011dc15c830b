"""Each retention sweep deletes exactly what is due, in batches, and is idempotent.

The sweeps read "now" from the job context's clock: the rows are placed around a fixed
instant, one just past the limit (due) and one just inside it (kept) for every rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.jobs import retention
from app.jobs.context import JobContext
from app.models.base import utcnow
from app.models.events import Event
from app.models.idempotency import IdempotencyRecord
from app.models.oauth import AuthorizationCode, OAuthClient, RefreshToken
from app.models.push import PushDispatchState
from app.models.revocations import Revocation
from app.models.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDispatchState,
    WebhookEndpoint,
)
from tests.conftest import MakeUser
from tests.factories import pair
from tests.sync_support import checkin, fetch_all

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
Sweep = Callable[[JobContext], Awaitable[int]]


@pytest.fixture
def context(sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings) -> JobContext:
    settings = test_settings.model_copy(update={"retention_batch_size": 2})
    return JobContext(sessionmaker, settings, clock=lambda: NOW)


async def _add(sessionmaker: async_sessionmaker[AsyncSession], *rows: Any) -> None:
    async with sessionmaker() as session, session.begin():
        session.add_all(rows)


async def _remaining(sessionmaker: async_sessionmaker[AsyncSession], column: Any) -> set[Any]:
    async with sessionmaker() as session:
        return set(await session.scalars(select(column)))


async def _sweep_twice(sweep: Sweep, context: JobContext) -> int:
    deleted = await sweep(context)
    assert await sweep(context) == 0, "a second run finds nothing more to delete"
    return deleted


async def test_idempotency_records_go_at_their_expiry_in_batches(
    context: JobContext, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    def record(key: str, expires_at: datetime) -> IdempotencyRecord:
        return IdempotencyRecord(
            caller="user:1", key=key, fingerprint="f" * 64, expires_at=expires_at
        )

    # Five due: three batches of at most two.
    due = [record(f"old-{n}", NOW - n * SECOND) for n in range(5)]
    await _add(sessionmaker, *due, record("fresh", NOW + SECOND))

    assert await _sweep_twice(retention.sweep_idempotency_records, context) == 5
    assert await _remaining(sessionmaker, IdempotencyRecord.key) == {"fresh"}


async def test_revocations_stay_while_a_token_they_cover_can_live(
    context: JobContext, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    def revocation(token_id: str, expires_at: datetime) -> Revocation:
        return Revocation(
            token_id=token_id,
            reason="token_revoked",
            revoked_at=expires_at - timedelta(minutes=20),
            expires_at=expires_at,
        )

    await _add(
        sessionmaker,
        revocation("expired-1", NOW - SECOND),
        revocation("expired-2", NOW),
        revocation("live", NOW + SECOND),
        # The newest row stays even when expired: ids must keep growing.
        revocation("newest-expired", NOW - SECOND),
    )
    assert await _sweep_twice(retention.sweep_revocations, context) == 2
    assert await _remaining(sessionmaker, Revocation.token_id) == {"live", "newest-expired"}


async def _person_and_client(
    make_user: MakeUser, first_party_client: OAuthClient
) -> tuple[uuid.UUID, str]:
    person = await make_user()
    return person.id, first_party_client.client_id


def _refresh_token(
    user_id: uuid.UUID, client_id: str, family_id: uuid.UUID, expires_at: datetime, **extra: Any
) -> RefreshToken:
    return RefreshToken(
        token_hash=uuid.uuid4().hex,
        family_id=family_id,
        client_id=client_id,
        user_id=user_id,
        scope="profile:read",
        expires_at=expires_at,
        **extra,
    )


async def test_refresh_tokens_go_by_whole_family_once_every_one_expired(
    context: JobContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: MakeUser,
    first_party_client: OAuthClient,
) -> None:
    user_id, client_id = await _person_and_client(make_user, first_party_client)
    dead, alive = uuid.uuid4(), uuid.uuid4()
    await _add(
        sessionmaker,
        *(
            _refresh_token(user_id, client_id, dead, NOW - n * SECOND, rotated_at=NOW)
            for n in range(3)
        ),
        _refresh_token(user_id, client_id, dead, NOW),
        # A rotated-out, expired token of a live family detects a replay: it stays.
        _refresh_token(user_id, client_id, alive, NOW - timedelta(days=1), rotated_at=NOW),
        _refresh_token(user_id, client_id, alive, NOW + SECOND),
    )
    assert await _sweep_twice(retention.sweep_refresh_tokens, context) == 4
    assert await _remaining(sessionmaker, RefreshToken.family_id) == {alive}
    async with sessionmaker() as session:
        kept = await session.scalar(select(func.count()).select_from(RefreshToken))
    assert kept == 2


async def test_authorization_codes_go_unless_a_replay_could_still_revoke_a_family(
    context: JobContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: MakeUser,
    first_party_client: OAuthClient,
) -> None:
    user_id, client_id = await _person_and_client(make_user, first_party_client)
    live_family, revoked_family, expired_family = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def code(name: str, expires_at: datetime, family_id: uuid.UUID | None = None) -> Any:
        return AuthorizationCode(
            code_hash=name,
            client_id=client_id,
            user_id=user_id,
            redirect_uri="rapport://callback",
            scope="profile:read",
            code_challenge="c" * 43,
            code_challenge_method="S256",
            expires_at=expires_at,
            used_at=None if family_id is None else expires_at - SECOND,
            family_id=family_id,
        )

    await _add(
        sessionmaker,
        _refresh_token(user_id, client_id, live_family, NOW + SECOND),
        _refresh_token(user_id, client_id, revoked_family, NOW + SECOND, revoked_at=NOW),
        _refresh_token(user_id, client_id, expired_family, NOW),
    )
    await _add(
        sessionmaker,
        code("unused-expired", NOW - SECOND),
        code("unused-at-expiry", NOW),
        code("unused-valid", NOW + SECOND),
        code("used-live-family", NOW - timedelta(days=1), live_family),
        code("used-revoked-family", NOW - timedelta(days=1), revoked_family),
        code("used-expired-family", NOW - timedelta(days=1), expired_family),
    )
    assert await _sweep_twice(retention.sweep_authorization_codes, context) == 4
    assert await _remaining(sessionmaker, AuthorizationCode.code_hash) == {
        "unused-valid",
        "used-live-family",
    }


async def _endpoint(sessionmaker: async_sessionmaker[AsyncSession], client_id: str) -> uuid.UUID:
    endpoint = WebhookEndpoint(
        client_id=client_id, url="https://partner.example/hook", secret="whsec_test"
    )
    await _add(sessionmaker, endpoint)
    return endpoint.id


def _event(type_: str, occurred_at: datetime, **extra: Any) -> Event:
    return Event(type=type_, occurred_at=occurred_at, **extra)


async def test_webhook_history_goes_after_the_retention_except_pending_deliveries(
    context: JobContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    first_party_client: OAuthClient,
) -> None:
    endpoint_id = await _endpoint(sessionmaker, first_party_client.client_id)
    cutoff = NOW - timedelta(days=context.settings.sync_retention_days)
    events = [_event("checkin.created", cutoff - timedelta(days=1)) for _ in range(4)]
    await _add(sessionmaker, *events)

    def delivery(event: Event, created_at: datetime, status: DeliveryStatus) -> WebhookDelivery:
        return WebhookDelivery(
            endpoint_id=endpoint_id,
            event_id=event.id,
            event_type=event.type,
            status=status,
            created_at=created_at,
        )

    old_done = delivery(events[0], cutoff - SECOND, DeliveryStatus.succeeded)
    old_failed = delivery(events[1], cutoff - SECOND, DeliveryStatus.failed)
    old_pending = delivery(events[2], cutoff - SECOND, DeliveryStatus.pending)
    recent_done = delivery(events[3], cutoff, DeliveryStatus.succeeded)
    await _add(sessionmaker, old_done, old_failed, old_pending, recent_done)
    await _add(
        sessionmaker,
        WebhookAttempt(delivery_id=old_pending.id, started_at=cutoff - SECOND, error="old"),
        WebhookAttempt(delivery_id=old_pending.id, started_at=cutoff, error="recent"),
        WebhookAttempt(delivery_id=recent_done.id, started_at=cutoff + SECOND, error="newer"),
    )

    assert await _sweep_twice(retention.sweep_webhook_history, context) == 3
    assert await _remaining(sessionmaker, WebhookDelivery.id) == {old_pending.id, recent_done.id}
    assert await _remaining(sessionmaker, WebhookAttempt.error) == {"recent", "newer"}


async def test_events_go_after_the_retention_and_margin_unless_still_needed(
    context: JobContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    first_party_client: OAuthClient,
) -> None:
    settings = context.settings
    cutoff = NOW - timedelta(
        days=settings.sync_retention_days, hours=settings.event_retention_margin_hours
    )
    couple_id = uuid.uuid4()
    old = cutoff - SECOND
    due = [_event("checkin.created", old) for _ in range(3)]
    membership = [
        _event(name, old, couple_id=couple_id)
        for name in ("couple.created", "couple.joined", "couple.ended")
    ]
    just_inside = _event("checkin.created", cutoff)
    delivered = _event("checkin.created", old)
    await _add(sessionmaker, *due, *membership, just_inside, delivered)
    not_fanned_out = _event("checkin.created", old)
    await _add(sessionmaker, not_fanned_out)
    await _add(
        sessionmaker,
        WebhookDispatchState(id=1, last_xid=not_fanned_out.xid, last_seq=not_fanned_out.seq - 1),
    )
    newest = _event("checkin.created", old)
    await _add(sessionmaker, newest)
    endpoint_id = await _endpoint(sessionmaker, first_party_client.client_id)
    await _add(
        sessionmaker,
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_id=delivered.id,
            event_type=delivered.type,
            status=DeliveryStatus.pending,
        ),
    )

    assert await _sweep_twice(retention.sweep_events, context) == 3
    kept = {*membership, just_inside, delivered, not_fanned_out, newest}
    assert await _remaining(sessionmaker, Event.id) == {event.id for event in kept}


async def test_events_stay_when_the_webhook_fan_out_never_ran(
    context: JobContext, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old = NOW - timedelta(days=context.settings.sync_retention_days + 30)
    await _add(sessionmaker, *(_event("checkin.created", old) for _ in range(3)))
    assert await retention.sweep_events(context) == 0


async def test_events_the_push_fan_out_has_not_read_stay(
    context: JobContext, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old = NOW - timedelta(days=context.settings.sync_retention_days + 30)
    read, unread, newest = (_event("checkin.created", old) for _ in range(3))
    await _add(sessionmaker, read)
    await _add(sessionmaker, unread, newest)
    await _add(sessionmaker, WebhookDispatchState(id=1, last_xid=newest.xid, last_seq=newest.seq))
    await _add(sessionmaker, PushDispatchState(id=1, last_xid=read.xid, last_seq=read.seq))
    assert await retention.sweep_events(context) == 1
    assert await _remaining(sessionmaker, Event.id) == {unread.id, newest.id}


async def test_sweeping_old_events_leaves_what_sync_shows_of_the_others(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    await checkin(client, ann, "partner", "shared long ago")
    long_ago = utcnow() - timedelta(days=test_settings.sync_retention_days + 30)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Event).values(occurred_at=long_ago))
        newest_old = (
            await session.execute(
                select(Event.xid, Event.seq).order_by(Event.xid.desc(), Event.seq.desc())
            )
        ).first()
        assert newest_old is not None
        session.add(WebhookDispatchState(id=1, last_xid=newest_old.xid, last_seq=newest_old.seq))
        old_seqs = set(await session.scalars(select(Event.seq)))
    await checkin(client, ann, "partner", "shared this week")
    before, _ = await fetch_all(client, bo)

    deleted = await retention.sweep_events(JobContext(sessionmaker, test_settings))

    after, _ = await fetch_all(client, bo)
    gone = [
        item
        for item in before
        if item["seq"] in old_seqs and item["type"] not in retention.MEMBERSHIP_EVENT_TYPES
    ]
    assert gone, "the old check-in's and accounts' events are due"
    assert deleted >= len(gone)
    # Bo still sees the couple's recent events: his membership window is intact.
    assert after == [item for item in before if item not in gone]
    assert any(item["resource"].get("note") == "shared this week" for item in after)
