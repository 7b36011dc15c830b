"""Delivering events to a real HTTP receiver: signatures, retries, 410, redirects, consent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.delivery.dispatcher import Dispatcher
from app.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import MakeUser
from tests.factories import pair
from tests.webhooks_support import (
    Partner,
    PointNames,
    Received,
    Receiver,
    Reply,
    Tick,
    dev_settings,
    grant,
    register,
    running,
    share_checkin,
)


def verify(secret: str, received: Received) -> dict[str, object]:
    return Webhook(secret).verify(received.body, received.headers)  # type: ignore[no-any-return]


async def test_a_delivery_is_retried_with_the_same_id_until_it_succeeds(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    tick: Tick,
    db: AsyncSession,
) -> None:
    person = await make_user()
    await grant(sessionmaker, person.id, partner.client_id, "checkins:read")
    answers: Iterator[Reply] = iter([(500, {}, b"boom"), (503, {}, b"busy")])
    receiver = Receiver(reply=lambda _r: next(answers, (200, {}, b"ok")))
    async with running(receiver):
        endpoint = await register(client, partner, receiver.url)
        event_id = await share_checkin(sessionmaker, person)
        await dispatcher.run_once()
        assert len(receiver.requests) == 1
        await dispatcher.run_once()
        assert len(receiver.requests) == 1  # the retry waits for its turn (5 s)
        for _ in range(2):
            tick.advance(24 * 3600)
            await dispatcher.run_once()
    assert len(receiver.requests) == 3
    assert len(set(receiver.ids())) == 1
    for received in receiver.requests:
        document = verify(endpoint["secret"], received)
        assert document["type"] == "checkin.shared"
    body = json.loads(receiver.requests[-1].body)
    assert body["data"]["id"] == str(event_id)
    assert body["data"]["user_id"] == str(person.id)
    assert set(body["data"]) == {"id", "user_id", "couple_id", "checkin_id"}
    delivery = await db.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.status is DeliveryStatus.succeeded
    assert str(delivery.id) == receiver.ids()[0]

    path = f"/v1/webhooks/deliveries/{delivery.id}/attempts"
    attempts = (await client.get(path, headers=partner.headers())).json()["data"]
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert attempts[0]["response_body"] == "boom"
    listed = await client.get(
        f"/v1/webhooks/endpoints/{endpoint['id']}/deliveries?status=succeeded",
        headers=partner.headers(),
    )
    assert [d["id"] for d in listed.json()["data"]] == [str(delivery.id)]


async def test_410_disables_the_endpoint_and_tells_the_partner(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    person = await make_user()
    await grant(sessionmaker, person.id, partner.client_id, "checkins:read")
    gone = Receiver(reply=lambda _r: (410, {}, b""))
    watcher = Receiver()
    async with running(gone), running(watcher):
        endpoint = await register(client, partner, gone.url, event_types=["checkin.shared"])
        await register(client, partner, watcher.url, event_types=["webhook_endpoint.disabled"])
        await share_checkin(sessionmaker, person)
        await dispatcher.run_once()
        await dispatcher.run_once()
    assert len(gone.requests) == 1
    one = await client.get(f"/v1/webhooks/endpoints/{endpoint['id']}", headers=partner.headers())
    assert one.json()["enabled"] is False and one.json()["disabled_reason"] == "gone"
    assert [json.loads(r.body)["type"] for r in watcher.requests] == ["webhook_endpoint.disabled"]
    assert json.loads(watcher.requests[0].body)["data"]["endpoint_id"] == endpoint["id"]


async def test_a_redirect_is_a_failure(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    db: AsyncSession,
) -> None:
    target = Receiver()
    async with running(target):
        mover = Receiver(reply=lambda _r: (307, {"location": target.url}, b""))
        async with running(mover):
            endpoint = await register(client, partner, mover.url)
            ping = await client.post(
                f"/v1/webhooks/endpoints/{endpoint['id']}/test", headers=partner.headers()
            )
            assert ping.status_code == 202, ping.text
            await dispatcher.run_once()
    assert len(mover.requests) == 1 and target.requests == []
    assert json.loads(mover.requests[0].body)["type"] == "webhook.ping"
    delivery = await db.scalar(select(WebhookDelivery))
    assert delivery is not None
    assert delivery.status is DeliveryStatus.pending and delivery.last_status_code == 307


async def test_both_secrets_sign_during_a_rotation(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    dispatcher: Dispatcher,
) -> None:
    receiver = Receiver()
    async with running(receiver):
        endpoint = await register(client, partner, receiver.url)
        rotated = await client.post(
            f"/v1/webhooks/endpoints/{endpoint['id']}/rotate-secret", headers=partner.headers()
        )
        await client.post(
            f"/v1/webhooks/endpoints/{endpoint['id']}/test", headers=partner.headers()
        )
        await dispatcher.run_once()
    [received] = receiver.requests
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    verify(endpoint["secret"], received)
    verify(rotated.json()["secret"], received)


async def test_only_consented_scopes_are_delivered(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    consented, other_scope, stranger = await make_user(), await make_user(), await make_user()
    await grant(sessionmaker, consented.id, partner.client_id, "checkins:read")
    await grant(sessionmaker, other_scope.id, partner.client_id, "couple:read")
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url)
        delivered = await share_checkin(sessionmaker, consented)
        await share_checkin(sessionmaker, other_scope)
        await share_checkin(sessionmaker, stranger)
        await dispatcher.run_once()
        await dispatcher.run_once()
    assert [json.loads(r.body)["data"]["id"] for r in receiver.requests] == [str(delivered)]


async def test_a_name_resolving_to_loopback_is_refused_at_delivery(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: object,
    db: AsyncSession,
    point_names: PointNames,
) -> None:
    point_names({"hooks.example.org": ["127.0.0.1"]})
    endpoint = await register(client, partner, "https://hooks.example.org:9/hooks")
    await client.post(f"/v1/webhooks/endpoints/{endpoint['id']}/test", headers=partner.headers())
    strict = Dispatcher(sessionmaker, test_settings)  # type: ignore[arg-type]
    try:
        await strict.run_once()
    finally:
        await strict.aclose()
    attempt = await db.scalar(select(WebhookAttempt))
    assert attempt is not None and attempt.status_code is None
    assert attempt.error is not None and "address not allowed" in attempt.error
    assert "127.0.0.1" not in attempt.error  # the owner does not learn what the name meant


async def test_retry_after_slows_down_and_five_failing_days_disable(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    tick: Tick,
    db: AsyncSession,
) -> None:
    receiver = Receiver(reply=lambda _r: (429, {"retry-after": "3600"}, b""))
    async with running(receiver):
        endpoint = await register(client, partner, receiver.url)
        await client.post(
            f"/v1/webhooks/endpoints/{endpoint['id']}/test", headers=partner.headers()
        )
        await dispatcher.run_once()
        delivery = await db.scalar(select(WebhookDelivery))
        assert delivery is not None and delivery.last_attempt_at is not None
        assert (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() >= 3600
        await db.rollback()
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(WebhookEndpoint).values(failing_since=tick() - timedelta(days=6))
            )
        tick.advance(3700)
        await dispatcher.run_once()
    assert len(receiver.requests) == 2
    one = await client.get(f"/v1/webhooks/endpoints/{endpoint['id']}", headers=partner.headers())
    assert one.json()["enabled"] is False and one.json()["disabled_reason"] == "failing"


async def test_a_couple_event_reaches_a_client_either_partner_consented_to(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    ann, bo = await make_user(), await make_user()
    await grant(sessionmaker, bo.id, partner.client_id, "couple:read")
    receiver = Receiver()
    async with running(receiver):
        endpoint = await register(client, partner, receiver.url)
        couple = await pair(client, ann, bo)
        await dispatcher.run_once()
        await dispatcher.run_once()
    documents = [json.loads(r.body) for r in receiver.requests]
    assert sorted(d["type"] for d in documents) == ["couple.created", "couple.joined"]
    assert {d["data"]["couple_id"] for d in documents} == {couple["id"]}
    for received in receiver.requests:
        verify(endpoint["secret"], received)


@pytest.mark.slow  # forty deliveries over HTTP
async def test_concurrent_dispatchers_never_send_twice(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    person = await make_user()
    await grant(sessionmaker, person.id, partner.client_id, "checkins:read")
    workers = [
        Dispatcher(sessionmaker, dev_settings(test_settings), batch_size=7) for _ in range(3)
    ]
    receiver = Receiver()
    try:
        async with running(receiver):
            await register(client, partner, receiver.url)
            for _ in range(40):
                await share_checkin(sessionmaker, person)
            for _ in range(10):
                await asyncio.gather(*(worker.run_once() for worker in workers))
    finally:
        for worker in workers:
            await worker.aclose()
    assert len(receiver.ids()) == 40 and len(set(receiver.ids())) == 40


async def test_disconnecting_the_app_stops_its_events_at_once(
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
        await register(client, partner, receiver.url)
        before = await share_checkin(sessionmaker, person)
        await dispatcher.run_once()
        disconnected = await client.delete(
            f"/v1/me/connected-apps/{partner.client_id}", headers=person.headers("profile")
        )
        assert disconnected.status_code == 204, disconnected.text
        await share_checkin(sessionmaker, person)
        await dispatcher.run_once()
        await dispatcher.run_once()
    delivered = [json.loads(r.body)["data"]["id"] for r in receiver.requests]
    assert delivered == [str(before)]
