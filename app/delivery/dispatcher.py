"""The webhook dispatcher: fan events out to endpoints, claim due deliveries, send, retry.

1. Fan-out (`app.delivery.fanout`) turns new events into deliveries, as the consent rule
   (`app.services.visibility`) allows.
2. Claiming leases due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's
   `BEGIN IMMEDIATE` already serializes) by setting `locked_until` and a lease id, and commits.
3. Sending happens outside any transaction; the outcome is recorded only by the lease holder.
   A worker that dies mid-delivery leaves its lease to expire: another worker retries it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.events import append_event
from app.delivery import fanout, sending, ssrf
from app.delivery.sending import Outcome
from app.models.base import utcnow
from app.models.events import Event
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
RECORD_GROUP = 25
"""Outcomes recorded per transaction, at most."""
PIPELINES = 3
"""Batches a running dispatcher has in flight at once."""


@dataclass(frozen=True, slots=True)
class Job:
    delivery_id: uuid.UUID
    lease_id: uuid.UUID
    url: str
    secrets: list[str]
    body: bytes


def payload(event: Event) -> bytes:
    """The thin body: `{"type", "timestamp", "data": {"id", "user_id", "couple_id", ...}}`."""
    return body(event.type, event.occurred_at, event.id, event.user_id, event.couple_id, event.data)


def body(
    type_: str,
    occurred_at: datetime,
    id_: uuid.UUID,
    user_id: uuid.UUID | None,
    couple_id: uuid.UUID | None,
    data: dict[str, Any],
) -> bytes:
    document = {
        "type": type_,
        "timestamp": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "id": str(id_),
            "user_id": str(user_id) if user_id else None,
            "couple_id": str(couple_id) if couple_id else None,
            **data,
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


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


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 100,
        concurrency: int = 32,
        lease_seconds: float = 60.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.allowed = ssrf.parse_networks(settings.webhook_allowed_networks)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._due = asyncio.Event()
        self._http = http or sending.client()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _postgres(self, session: AsyncSession) -> bool:
        return session.get_bind().dialect.name == "postgresql"

    # --- the loop -------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Fan out new events, then send what is due; how much work was done."""
        fanned = await self.fan_out()
        sent = await self.deliver_due()
        return fanned + sent

    async def run(self, stop: asyncio.Event, *, poll_interval: float = 1.0) -> None:
        """Fan out and deliver until `stop` is set; what is in flight finishes first.

        One loop fans out; `PIPELINES` loops claim, send and record batches side by side, so
        that one batch's statements overlap another's requests (their leases keep them
        apart). A fan-out that made deliveries wakes the idle delivery loops at once."""
        await asyncio.gather(
            self._loop(stop, self._fan_out_waking, poll_interval, wake=None),
            *(
                self._loop(stop, self.deliver_due, poll_interval, wake=self._due)
                for _ in range(PIPELINES)
            ),
        )

    async def _fan_out_waking(self) -> int:
        fanned = await self.fan_out()
        if fanned:
            self._due.set()
        return fanned

    async def _loop(
        self,
        stop: asyncio.Event,
        step: Callable[[], Awaitable[int]],
        poll_interval: float,
        *,
        wake: asyncio.Event | None,
    ) -> None:
        while not stop.is_set():
            if wake is not None:
                wake.clear()  # before the step: a wake set during it is not lost
            try:
                busy = await step()
            except Exception:
                logger.exception("webhook dispatcher iteration failed")
                busy = 0
            if busy:
                continue
            waits = [asyncio.ensure_future(stop.wait())]
            if wake is not None:
                waits.append(asyncio.ensure_future(wake.wait()))
            _, pending = await asyncio.wait(
                waits, timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    # --- fan-out (app/delivery/fanout.py) ---------------------------------------------------

    async def fan_out(self) -> int:
        """Create the deliveries owed for events past the mark; the number of events taken."""
        async with self.sessionmaker() as session, session.begin():
            return await fanout.fan_out(session, self.clock(), self.batch_size * 5)

    # --- claim, send, record ---------------------------------------------------------------

    async def claim(self) -> list[Job]:
        """Lease up to a batch of due deliveries: a handful of statements for the batch."""
        now = self.clock()
        lease_id = uuid.uuid4()
        async with self.sessionmaker() as session, session.begin():
            due = (
                select(D.id, D.endpoint_id, D.event_id)
                .where(
                    D.status == DeliveryStatus.pending,
                    D.next_attempt_at <= now,
                    or_(D.locked_until.is_(None), D.locked_until < now),
                )
                .order_by(D.next_attempt_at)
                .limit(self.batch_size)
            )
            if self._postgres(session):
                due = due.with_for_update(skip_locked=True)
            deliveries = (await session.execute(due)).all()
            if not deliveries:
                return []
            endpoints = {
                row.id: row
                for row in await session.execute(
                    select(
                        WebhookEndpoint.id,
                        WebhookEndpoint.url,
                        WebhookEndpoint.enabled,
                        WebhookEndpoint.secret,
                        WebhookEndpoint.previous_secret,
                        WebhookEndpoint.previous_secret_expires_at,
                    ).where(WebhookEndpoint.id.in_({d.endpoint_id for d in deliveries}))
                )
            }
            bodies = {
                row.id: body(*row)
                for row in await session.execute(
                    select(
                        Event.type,
                        Event.occurred_at,
                        Event.id,
                        Event.user_id,
                        Event.couple_id,
                        Event.data,
                    ).where(Event.id.in_({d.event_id for d in deliveries}))
                )
            }
            jobs = []
            skipped = []
            for delivery in deliveries:
                endpoint = endpoints[delivery.endpoint_id]
                if not endpoint.enabled:
                    skipped.append(delivery.id)  # a replay recovers it
                    continue
                secrets = [endpoint.secret]
                if (
                    endpoint.previous_secret
                    and endpoint.previous_secret_expires_at
                    and endpoint.previous_secret_expires_at > now
                ):
                    secrets.append(endpoint.previous_secret)
                jobs.append(
                    Job(delivery.id, lease_id, endpoint.url, secrets, bodies[delivery.event_id])
                )
            if jobs:
                await session.execute(
                    update(D)
                    .where(D.id.in_([job.delivery_id for job in jobs]))
                    .values(locked_until=now + self.lease, lease_id=lease_id)
                    .execution_options(synchronize_session=False)
                )
            if skipped:
                await session.execute(
                    update(D)
                    .where(D.id.in_(skipped))
                    .values(status=DeliveryStatus.skipped)
                    .execution_options(synchronize_session=False)
                )
        return jobs

    async def deliver_due(self) -> int:
        """Send what this worker claimed, recording outcomes in small groups as they come:
        one transaction per group rather than per delivery, and a slow endpoint holds back
        the record of at most a group of others (their leases outlive it)."""
        jobs = await self.claim()
        finished: list[tuple[Job, Outcome]] = []
        # Tasks made in claim order take the semaphore in that order (as_completed alone
        # would start them in any order): deliveries go out oldest first.
        sending_tasks = [asyncio.create_task(self._send_limited(job)) for job in jobs]
        for sent in asyncio.as_completed(sending_tasks):
            result = await sent
            if result is not None:
                finished.append(result)
            if len(finished) >= RECORD_GROUP:
                await self._record_safely(finished)
                finished = []
        if finished:
            await self._record_safely(finished)
        return len(jobs)

    async def _send_limited(self, job: Job) -> tuple[Job, Outcome] | None:
        try:
            async with self._semaphore:
                return job, await self.send(job)
        except Exception:
            # The lease expires and another attempt follows: nothing is lost.
            logger.exception("sending webhook delivery %s failed", job.delivery_id)
            return None

    async def _record_safely(self, finished: list[tuple[Job, Outcome]]) -> None:
        try:
            await self.record(finished)
        except Exception:
            # The leases expire and other attempts follow: nothing is lost.
            logger.exception("recording %d webhook deliveries failed", len(finished))

    async def send(self, job: Job) -> Outcome:
        return await sending.send(
            self._http,
            job.url,
            message_id=str(job.delivery_id),
            secrets=job.secrets,
            body=job.body,
            allow_http=self.settings.webhook_allow_http,
            allowed=self.allowed,
            started_at=self.clock(),
        )

    async def record(self, finished: list[tuple[Job, Outcome]]) -> None:
        """Record attempts in one transaction; only a lease holder's outcome counts.

        Successes take one UPDATE (matching the lease, returning the rows it matched) and one
        INSERT of their attempts; failures, rarer, are read and retried one by one."""
        now = self.clock()
        succeeded = [(job, outcome) for job, outcome in finished if outcome.ok]
        failed = {job.delivery_id: (job, outcome) for job, outcome in finished if not outcome.ok}
        async with self.sessionmaker() as session, session.begin():
            endpoints = await self._record_successes(session, succeeded)
            if failed:
                await self._record_failures(session, failed, now)
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

    @staticmethod
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
        self,
        session: AsyncSession,
        failed: dict[uuid.UUID, tuple[Job, Outcome]],
        now: datetime,
    ) -> None:
        statement = (
            select(WebhookDelivery)
            .where(WebhookDelivery.id.in_(failed))
            .order_by(WebhookDelivery.id)  # one lock order for every worker
        )
        if self._postgres(session):
            statement = statement.with_for_update()
        for delivery in list(await session.scalars(statement)):
            job, outcome = failed[delivery.id]
            if delivery.lease_id != job.lease_id:
                continue  # the lease expired and another worker took over
            self._count_attempt(session, delivery, outcome)
            await self._failed(session, delivery, outcome, now)

    @staticmethod
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
        self, session: AsyncSession, delivery: WebhookDelivery, outcome: Outcome, now: datetime
    ) -> None:
        """A failed attempt: retry later, give up, or disable the endpoint (410, or failing
        for `DISABLE_AFTER`)."""
        endpoint = await session.scalar(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id == delivery.endpoint_id)
            .with_for_update()
        )
        if outcome.status_code == 410:
            delivery.status = DeliveryStatus.failed
            if endpoint is not None:
                await self._disable(session, endpoint, "gone")
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
                await self._disable(session, endpoint, "failing")

    async def _disable(self, session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
        if not endpoint.enabled:
            return
        endpoint.enabled = False
        endpoint.disabled_reason = reason
        await append_event(
            session, "webhook_endpoint.disabled", endpoint_id=endpoint.id, reason=reason
        )
        logger.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
