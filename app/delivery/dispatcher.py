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
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.delivery import fanout, recording, sending, ssrf
from app.delivery.recording import Job
from app.delivery.sending import Outcome
from app.models.base import utcnow
from app.models.events import Event
from app.models.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger("rapport.webhooks")
D = WebhookDelivery

RECORD_GROUP = 50
"""Outcomes recorded per transaction, at most."""
PIPELINES = 3
"""Batches a running dispatcher has in flight at once."""


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
        http: sending.WebhookClient | None = None,
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
            await recording.record(self.sessionmaker, finished, self.clock())
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
