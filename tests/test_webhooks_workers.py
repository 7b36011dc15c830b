"""Several `rapport worker` processes against one PostgreSQL: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.events import append_event
from app.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.conftest import MakeUser
from tests.webhooks_support import (
    LOOPBACK,
    Partner,
    Received,
    Receiver,
    Reply,
    grant,
    running,
)

RAPPORT = str(Path(sys.executable).with_name("rapport"))
pytestmark = pytest.mark.slow  # several worker processes


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("several worker processes need PostgreSQL (set RAPPORT_TEST_DATABASE_URL)")


@asynccontextmanager
async def worker(settings: Settings, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": settings.database_url,
        "RAPPORT_WEBHOOK_ALLOW_HTTP": "true",
        "RAPPORT_WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_LOG_JSON": "false",
    }
    process = await asyncio.create_subprocess_exec(
        RAPPORT, "worker", "--poll-interval", "0.05", *args, env=env
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def endpoint_for(
    sessionmaker: async_sessionmaker[AsyncSession], owner: Partner, url: str
) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(WebhookEndpoint(client_id=owner.client_id, url=url, secret="whsec_" + "A" * 44))


async def until(condition: object, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_two_workers_deliver_a_thousand_events_exactly_once(
    app: FastAPI,
    test_settings: Settings,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
) -> None:
    person = await make_user()
    await grant(sessionmaker, person.id, partner.client_id, "profile")
    receiver = Receiver()
    async with running(receiver):
        await endpoint_for(sessionmaker, partner, receiver.url)
        async with sessionmaker() as session, session.begin():
            for _ in range(1000):
                await append_event(session, "user.updated", user_id=person.id)

        async def all_succeeded() -> bool:
            async with sessionmaker() as session:
                done = await session.scalar(
                    select(func.count()).where(WebhookDelivery.status == DeliveryStatus.succeeded)
                )
            return done == 1000

        async with (
            worker(test_settings, "--batch-size", "50"),
            worker(test_settings, "--batch-size", "50"),
        ):
            await until(all_succeeded, 50)
    counts = Counter(receiver.ids())
    assert len(counts) == 1000
    assert max(counts.values()) == 1, "a delivery was sent twice"


async def test_a_worker_killed_mid_delivery_loses_nothing(
    app: FastAPI,
    test_settings: Settings,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    person = await make_user()
    await grant(sessionmaker, person.id, partner.client_id, "profile")
    held = asyncio.Event()
    release = asyncio.Event()

    async def reply(received: Received) -> Reply:
        if len(receiver.requests) == 1:
            held.set()
            await release.wait()  # hold the first request open until its worker is dead
        return (200, {}, b"ok")

    receiver = Receiver(reply=reply)
    async with running(receiver):
        await endpoint_for(sessionmaker, partner, receiver.url)
        async with sessionmaker() as session, session.begin():
            await append_event(session, "user.updated", user_id=person.id)
        async with worker(test_settings, "--lease-seconds", "2") as first:
            await asyncio.wait_for(held.wait(), 20)
            first.kill()  # SIGKILL: no cleanup, the lease is left behind
            await first.wait()
        release.set()

        async def succeeded() -> bool:
            async with sessionmaker() as session:
                status = await session.scalar(select(WebhookDelivery.status))
            return status is DeliveryStatus.succeeded

        async with worker(test_settings, "--lease-seconds", "2"):
            await until(succeeded, 20)
    ids = receiver.ids()
    assert len(ids) == 2 and ids[0] == ids[1]
