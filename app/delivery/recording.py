"""Recording what sending found: only the lease holder's outcome counts.

Successes take one UPDATE for a group (matching each row's lease, returning the rows it
matched) and one INSERT of their attempts; failures, rarer, are read, locked and scheduled
for a retry on the Standard Webhooks schedule one by one.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.events import append_event
from app.delivery.sending import Outcome
from app.models.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger("rapport.webhooks")
D = WebhookDelivery

# Standard Webhooks schedule: immediately, then after these delays.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_RETRY_AFTER = 86400
SLOW_DOWN_STATUSES = frozenset({429, 502, 504})
DISABLE_AFTER = timedelta(days=5)


@dataclass(frozen=True, slots=True)
class Job:
    delivery_id: uuid.UUID
    lease_id: uuid.UUID
    url: str
    secrets: list[str]
    body: bytes


def retry_delay(attempts: int, status_code: int | None, retry_after: int | None) -> float | None:
    """Seconds until the next attempt after `attempts` failures, or None when they ran out."""
    if attempts > len(RETRY_DELAYS):
        return None
    delay = float(RETRY_DELAYS[attempts - 1])
    if status_code in SLOW_DOWN_STATUSES:
        delay *= 2
    delay *= 1 + random.random() * 0.2  # noqa: S311 — jitter: receivers coming back are not stampeded
    if retry_after is not None and retry_after > delay:
        delay = float(min(retry_after, MAX_RETRY_AFTER))
    return delay


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    finished: list[tuple[Job, Outcome]],
    now: datetime,
) -> None:
    """Record attempts in one transaction; only a lease holder's outcome counts.

    Successes take one UPDATE (matching the lease, returning the rows it matched) and one
    INSERT of their attempts; failures, rarer, are read and retried one by one."""
    succeeded = [(job, outcome) for job, outcome in finished if outcome.ok]
    failed = {job.delivery_id: (job, outcome) for job, outcome in finished if not outcome.ok}
    async with sessionmaker() as session, session.begin():
        endpoints = await _record_successes(session, succeeded)
        if failed:
            await _record_failures(session, failed, now)
        if endpoints:
            # Touch an endpoint row only when its health changes (or once a minute), so
            # concurrent successes do not queue on its lock.
            await session.execute(
                update(WebhookEndpoint)
                .where(
                    WebhookEndpoint.id.in_(endpoints),
                    or_(
                        WebhookEndpoint.failing_since.is_not(None),
                        WebhookEndpoint.last_success_at.is_(None),
                        WebhookEndpoint.last_success_at < now - timedelta(minutes=1),
                    ),
                )
                .values(failing_since=None, last_success_at=now)
                .execution_options(synchronize_session=False)
            )


async def _record_successes(
    session: AsyncSession, succeeded: list[tuple[Job, Outcome]]
) -> set[uuid.UUID]:
    """Mark the successes whose lease still holds; the endpoints they went to."""
    by_lease: dict[uuid.UUID, list[tuple[Job, Outcome]]] = {}
    for job, outcome in succeeded:
        by_lease.setdefault(job.lease_id, []).append((job, outcome))
    endpoints: set[uuid.UUID] = set()
    attempts: list[dict[str, Any]] = []
    for lease_id, group in sorted(by_lease.items()):
        outcomes = {job.delivery_id: outcome for job, outcome in group}
        codes = {key: outcome.status_code for key, outcome in outcomes.items()}
        started = {key: outcome.started_at for key, outcome in outcomes.items()}
        matched = await session.execute(
            update(D)
            .where(D.id.in_(sorted(outcomes)), D.lease_id == lease_id)
            .values(
                status=DeliveryStatus.succeeded,
                attempts=D.attempts + 1,
                last_status_code=case(codes, value=D.id),
                last_attempt_at=case(started, value=D.id),
                locked_until=None,
                lease_id=None,
            )
            .returning(D.id, D.endpoint_id)
            .execution_options(synchronize_session=False)
        )
        for delivery_id, endpoint_id in matched:
            endpoints.add(endpoint_id)
            outcome = outcomes[delivery_id]
            attempts.append(
                {
                    "id": uuid.uuid4(),
                    "delivery_id": delivery_id,
                    "started_at": outcome.started_at,
                    "duration_ms": outcome.duration_ms,
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                    "response_body": outcome.body,
                }
            )
    if attempts:
        await session.execute(insert(WebhookAttempt), attempts)
    return endpoints


async def _record_failures(
    session: AsyncSession,
    failed: dict[uuid.UUID, tuple[Job, Outcome]],
    now: datetime,
) -> None:
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id.in_(failed))
        .order_by(WebhookDelivery.id)  # one lock order for every worker
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    for delivery in list(await session.scalars(statement)):
        job, outcome = failed[delivery.id]
        if delivery.lease_id != job.lease_id:
            continue  # the lease expired and another worker took over
        _count_attempt(session, delivery, outcome)
        await _failed(session, delivery, outcome, now)


def _count_attempt(session: AsyncSession, delivery: WebhookDelivery, outcome: Outcome) -> None:
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
            response_body=outcome.body,
        )
    )
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_attempt_at = outcome.started_at
    delivery.locked_until = None
    delivery.lease_id = None


async def _failed(
    session: AsyncSession, delivery: WebhookDelivery, outcome: Outcome, now: datetime
) -> None:
    """A failed attempt: retry later, give up, or disable the endpoint (410, or failing
    for `DISABLE_AFTER`)."""
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id).with_for_update()
    )
    if outcome.status_code == 410:
        delivery.status = DeliveryStatus.failed
        if endpoint is not None:
            await _disable(session, endpoint, "gone")
        return
    delay = retry_delay(
        delivery.attempts - delivery.round_start_attempts,
        outcome.status_code,
        outcome.retry_after,
    )
    if delay is None:
        delivery.status = DeliveryStatus.failed
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    if endpoint is not None:
        endpoint.failing_since = endpoint.failing_since or now
        if now - endpoint.failing_since >= DISABLE_AFTER:
            await _disable(session, endpoint, "failing")


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    if not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    await append_event(session, "webhook_endpoint.disabled", endpoint_id=endpoint.id, reason=reason)
    logger.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
