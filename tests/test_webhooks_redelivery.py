"""Redelivering and replaying deliveries: what is queued again, and attempts that stay counted."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.delivery.dispatcher import Dispatcher
from app.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery
from tests.conftest import MakeUser
from tests.webhooks_support import (
    Partner,
    Receiver,
    Tick,
    grant,
    register,
    running,
    share_checkin,
)


async def test_redeliver_and_replay_requeue_failed_deliveries(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    person = await make_user()
    await grant(sessionmaker, person.id, partner.client_id, "checkins:read")
    receiver = Receiver()
    async with running(receiver):
        endpoint = await register(client, partner, receiver.url)
        await share_checkin(sessionmaker, person)
        await share_checkin(sessionmaker, person)
        await dispatcher.fan_out()
        async with sessionmaker() as session, session.begin():
            await session.execute(update(WebhookDelivery).values(status=DeliveryStatus.failed))
        replayed = await client.post(
            f"/v1/webhooks/endpoints/{endpoint['id']}/replay",
            json={"since": "2000-01-01T00:00:00Z"},
            headers=partner.headers(),
        )
        assert replayed.json() == {"requeued": 2}
        await dispatcher.run_once()
        assert len(receiver.requests) == 2
        again = await client.post(
            f"/v1/webhooks/deliveries/{receiver.ids()[0]}/redeliver", headers=partner.headers()
        )
        assert again.status_code == 202 and again.json()["status"] == "pending"
        await dispatcher.run_once()
    assert receiver.ids()[2] == receiver.ids()[0]


async def test_attempts_match_the_attempt_log_across_redeliver_and_replay(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    tick: Tick,
) -> None:
    person = await make_user()
    await grant(sessionmaker, person.id, partner.client_id, "checkins:read")
    receiver = Receiver(reply=lambda _r: (500, {}, b"down"))

    async def state() -> tuple[int, int, DeliveryStatus, float]:
        async with sessionmaker() as session:
            delivery = await session.scalar(select(WebhookDelivery))
            logged = len(list(await session.scalars(select(WebhookAttempt.id))))
        assert delivery is not None
        wait = (delivery.next_attempt_at - tick()).total_seconds()
        return delivery.attempts, logged, delivery.status, wait

    async with running(receiver):
        endpoint = await register(client, partner, receiver.url)
        await share_checkin(sessionmaker, person)
        await dispatcher.run_once()
        for _ in range(3):
            tick.advance(24 * 3600)
            await dispatcher.run_once()
        attempts, logged, status, _ = await state()
        assert attempts == logged == 4 and status is DeliveryStatus.pending
        delivery_id = receiver.ids()[0]
        again = await client.post(
            f"/v1/webhooks/deliveries/{delivery_id}/redeliver", headers=partner.headers()
        )
        assert again.json()["attempts"] == 4  # earlier attempts stay counted
        await dispatcher.run_once()
        attempts, logged, status, wait = await state()
        # A new round: the schedule starts over (about 5 s), the count goes on.
        assert attempts == logged == 5 and status is DeliveryStatus.pending and wait < 10
        async with sessionmaker() as session, session.begin():
            await session.execute(update(WebhookDelivery).values(status=DeliveryStatus.failed))
        replayed = await client.post(
            f"/v1/webhooks/endpoints/{endpoint['id']}/replay",
            json={"since": "2000-01-01T00:00:00Z"},
            headers=partner.headers(),
        )
        assert replayed.json() == {"requeued": 1}
        tick.advance(60)
        await dispatcher.run_once()
        attempts, logged, status, wait = await state()
        assert attempts == logged == 6 and status is DeliveryStatus.pending and wait < 10
    assert len(receiver.requests) == 6
