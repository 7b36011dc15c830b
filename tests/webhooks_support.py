"""Helpers for the webhook tests: a partner client, a real HTTP receiver, a steerable clock."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.events import append_event
from app.delivery import ssrf
from app.delivery.dispatcher import Dispatcher
from app.models.base import utcnow
from app.models.checkins import CheckIn, Visibility
from app.models.oauth import Consent, OAuthClient
from tests.conftest import Person

LOOPBACK = "127.0.0.0/8"


@dataclass
class Partner:
    client_id: str
    app: FastAPI

    def headers(self, scope: str = "webhooks:manage") -> dict[str, str]:
        token, _ = self.app.state.tokens.issue(
            subject=self.client_id, client_id=self.client_id, scope=scope
        )
        return {"Authorization": f"Bearer {token}"}


async def make_partner(sessionmaker: async_sessionmaker[AsyncSession], app: FastAPI) -> Partner:
    client_id = f"partner-{uuid.uuid4().hex[:10]}"
    async with sessionmaker() as session, session.begin():
        session.add(
            OAuthClient(
                client_id=client_id,
                name=client_id,
                is_confidential=True,
                allowed_scopes=["webhooks:manage", "checkins:read", "couple:read"],
            )
        )
    return Partner(client_id, app)


async def grant(
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: uuid.UUID,
    client_id: str,
    *scopes: str,
) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(Consent(user_id=user_id, client_id=client_id, scopes=list(scopes)))


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server on 127.0.0.1: records every request, answers as `reply` says."""

    reply: Callable[[Received], Awaitable[Reply] | Reply] = lambda _r: (204, {}, b"")
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            received = Received(headers, body)
            self.requests.append(received)
            answer = self.reply(received)
            status, extra, content = await answer if asyncio.iscoroutine(answer) else answer  # type: ignore[misc]
            head_out = (
                f"HTTP/1.1 {status} X\r\ncontent-length: {len(content)}\r\nconnection: close\r\n"
            )
            head_out += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            writer.write(head_out.encode() + b"\r\n" + content)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def running(receiver: Receiver, ssl: Any = None) -> AsyncIterator[Receiver]:
    server = await asyncio.start_server(receiver._handle, "127.0.0.1", 0, ssl=ssl)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


class Tick:
    """The dispatcher's clock, moved by hand to make retries due."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def dev_settings(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(
        update={"webhook_allow_http": True, "webhook_allowed_networks": LOOPBACK, **changes}
    )


@pytest.fixture
def dev_app(app: FastAPI, test_settings: Settings) -> Any:
    """The app accepting http://127.0.0.1 endpoints while the test runs."""
    original = app.state.settings
    app.state.settings = dev_settings(test_settings)
    yield app
    app.state.settings = original


@pytest.fixture
async def partner(app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]) -> Partner:
    return await make_partner(sessionmaker, app)


@pytest.fixture
def tick() -> Tick:
    return Tick()


@pytest.fixture
async def dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings, tick: Tick
) -> AsyncIterator[Dispatcher]:
    worker = Dispatcher(sessionmaker, dev_settings(test_settings), clock=tick)
    yield worker
    await worker.aclose()


PointNames = Callable[[dict[str, list[str]]], None]


@pytest.fixture
def point_names(monkeypatch: pytest.MonkeyPatch) -> PointNames:
    """Make the delivery resolver answer these names with these addresses (others fail)."""

    def point(names: dict[str, list[str]]) -> None:
        async def lookup(host: str, port: int) -> list[ssrf.IPAddress]:
            if host not in names:
                raise OSError(f"{host} is not a name this test resolves")
            return [ipaddress.ip_address(a) for a in names[host]]

        monkeypatch.setattr(ssrf, "lookup", lookup)

    return point


async def register(
    client: httpx.AsyncClient, owner: Partner, url: str, **body: object
) -> dict[str, str]:
    response = await client.post(
        "/v1/webhooks/endpoints", json={"url": url, **body}, headers=owner.headers()
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def share_checkin(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person
) -> uuid.UUID:
    """A shared check-in of the person's (its author may read it) and its event."""
    async with sessionmaker() as session, session.begin():
        checkin = CheckIn(
            user_id=person.id, mood=3, visibility=Visibility.partner, local_date=date.today()
        )
        session.add(checkin)
        await session.flush()
        event = await append_event(
            session, "checkin.shared", user_id=person.id, checkin_id=checkin.id
        )
    return event.id
