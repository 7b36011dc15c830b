"""Deliveries try each vetted address (RFC 8305 style), never one that was not vetted."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.delivery import sending, ssrf
from app.delivery.dispatcher import Dispatcher
from app.models.webhooks import WebhookAttempt
from tests.webhooks_support import Partner, PointNames, Receiver, dev_settings

LOOPBACKS = "127.0.0.0/8,::1/128"


@contextlib.asynccontextmanager
async def listening(receiver: Receiver, host: str) -> AsyncIterator[Receiver]:
    """The receiver on one address only (127.0.0.1 or ::1)."""
    server = await asyncio.start_server(receiver._handle, host, 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


async def ping(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    url: str,
) -> None:
    created = await client.post(
        "/v1/webhooks/endpoints", json={"url": url}, headers=partner.headers()
    )
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["id"]
    await client.post(f"/v1/webhooks/endpoints/{endpoint_id}/test", headers=partner.headers())
    worker = Dispatcher(sessionmaker, settings)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()


async def test_the_second_address_is_tried_when_the_first_refuses(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    point_names: PointNames,
    db: AsyncSession,
    dev_app: FastAPI,
) -> None:
    point_names({"hooks.example.org": ["127.0.0.2", "127.0.0.1"]})  # nothing on 127.0.0.2
    async with listening(Receiver(), "127.0.0.1") as receiver:
        url = f"http://hooks.example.org:{receiver.port}/hooks"
        await ping(client, partner, sessionmaker, dev_settings(test_settings), url)
    [received] = receiver.requests
    assert json.loads(received.body)["type"] == "webhook.ping"
    assert received.headers["host"] == f"hooks.example.org:{receiver.port}"
    [attempt] = (await db.scalars(select(WebhookAttempt))).all()
    assert attempt.status_code == 204 and attempt.error is None


async def test_a_receiver_on_ipv6_alone_is_reached(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    point_names: PointNames,
    db: AsyncSession,
    dev_app: FastAPI,
) -> None:
    try:
        receiver_cm = listening(Receiver(), "::1")
        receiver = await receiver_cm.__aenter__()
    except OSError:
        pytest.skip("this host has no IPv6 loopback")
    try:
        point_names({"hooks.example.org": ["127.0.0.1", "127.0.0.2", "::1"]})
        url = f"http://hooks.example.org:{receiver.port}/hooks"
        settings = dev_settings(test_settings, webhook_allowed_networks=LOOPBACKS)
        await ping(client, partner, sessionmaker, settings, url)
    finally:
        await receiver_cm.__aexit__(None, None, None)
    assert len(receiver.requests) == 1
    [attempt] = (await db.scalars(select(WebhookAttempt))).all()
    assert attempt.status_code == 204


async def test_an_attempt_fails_only_when_every_address_failed_and_names_none(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    point_names: PointNames,
    db: AsyncSession,
    dev_app: FastAPI,
) -> None:
    async with listening(Receiver(), "127.0.0.1") as receiver:
        port = receiver.port
    point_names({"hooks.example.org": ["127.0.0.2", "127.0.0.1"]})  # both closed now
    url = f"http://hooks.example.org:{port}/hooks"
    await ping(client, partner, sessionmaker, dev_settings(test_settings), url)
    [attempt] = (await db.scalars(select(WebhookAttempt))).all()
    assert attempt.status_code is None and attempt.error is not None
    assert "could not connect to any of 2 vetted addresses" in attempt.error
    assert "127.0.0" not in attempt.error


async def test_the_client_connects_nowhere_it_was_not_pinned_to() -> None:
    async with listening(Receiver(), "127.0.0.1") as receiver, sending.client() as http:
        with pytest.raises(httpx.ConnectError, match="address not allowed"):
            await http.post(receiver.url, content=b"{}")
    assert receiver.requests == []


async def test_each_attempt_resolves_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def lookup(host: str, port: int) -> list[ssrf.IPAddress]:
        calls.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(ssrf, "lookup", lookup)
    async with listening(Receiver(), "127.0.0.1") as receiver, sending.client() as http:
        outcome = await sending.send(
            http,
            f"http://hooks.example.org:{receiver.port}/hooks",
            message_id="msg_1",
            secrets=["whsec_" + "A" * 32],
            body=b"{}",
            allow_http=True,
            allowed=ssrf.parse_networks("127.0.0.0/8"),
            started_at=datetime.now(UTC),
        )
    assert outcome.ok
    assert calls == ["hooks.example.org"]


def test_families_are_interleaved_starting_with_the_first() -> None:
    given = [ipaddress.ip_address(a) for a in ("::1", "::2", "::3", "10.0.0.1", "10.0.0.2")]
    assert [str(a) for a in sending.interleave(given)] == [
        "::1",
        "10.0.0.1",
        "::2",
        "10.0.0.2",
        "::3",
    ]


async def test_a_slow_address_does_not_hold_up_the_next() -> None:
    started: list[str] = []
    cancelled: list[str] = []
    discarded: list[str] = []

    async def connect(name: str) -> str:
        started.append(name)
        if name == "hangs":
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
        return name

    async def discard(connection: str) -> None:
        discarded.append(connection)

    begun = time.monotonic()
    winner = await sending.race(["hangs", "answers"], connect, delay=0.05, discard=discard)
    assert winner == "answers"
    assert 0.04 <= time.monotonic() - begun < 5
    assert started == ["hangs", "answers"] and cancelled == ["hangs"] and discarded == []


async def test_a_failure_starts_the_next_address_at_once() -> None:
    async def connect(name: str) -> str:
        if name == "refuses":
            raise ConnectionRefusedError(111, "Connection refused")
        return name

    async def discard(connection: str) -> None:
        raise AssertionError("nothing to discard")

    begun = time.monotonic()
    winner = await sending.race(["refuses", "answers"], connect, delay=30, discard=discard)
    assert winner == "answers" and time.monotonic() - begun < 5
    with pytest.raises(ConnectionRefusedError):
        await sending.race(["refuses", "refuses"], connect, delay=30, discard=discard)
