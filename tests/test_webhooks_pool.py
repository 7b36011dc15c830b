"""The webhook client's pool: a kept-alive connection is reused only under the same pin."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from app.delivery import sending, ssrf

ALLOWED = ssrf.parse_networks("127.0.0.0/8")


@dataclass
class KeepAlive:
    """Answers 204 on kept-alive connections; counts connections and requests."""

    connections: int = 0
    requests: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(receiver: KeepAlive) -> AsyncIterator[KeepAlive]:
    """The receiver on 127.0.0.1 and 127.0.0.2, at one port."""
    first = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = first.sockets[0].getsockname()[1]
    second = await asyncio.start_server(receiver.handle, "127.0.0.2", receiver.port)
    try:
        yield receiver
    finally:
        first.close()
        second.close()


async def _send(http: sending.WebhookClient, url: str, message_id: str) -> sending.Outcome:
    return await sending.send(
        http,
        url,
        message_id=message_id,
        secrets=["whsec_" + "A" * 32],
        body=b"{}",
        allow_http=True,
        allowed=ALLOWED,
        started_at=datetime.now(UTC),
    )


async def test_a_connection_is_kept_alive_for_the_same_vetted_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def lookup(host: str, port: int) -> list[ssrf.IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(ssrf, "lookup", lookup)
    async with serving(KeepAlive()) as receiver, sending.client() as http:
        url = f"http://hooks.example.org:{receiver.port}/hooks"
        for number in range(3):
            assert (await _send(http, url, f"msg_{number}")).ok
    assert receiver.requests == 3
    assert receiver.connections == 1


async def test_a_connection_is_not_reused_once_the_name_resolves_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])

    async def lookup(host: str, port: int) -> list[ssrf.IPAddress]:
        return [ipaddress.ip_address(next(answers))]

    monkeypatch.setattr(ssrf, "lookup", lookup)
    async with serving(KeepAlive()) as receiver, sending.client() as http:
        url = f"http://hooks.example.org:{receiver.port}/hooks"
        for number in range(3):
            assert (await _send(http, url, f"msg_{number}")).ok
    assert receiver.requests == 3
    assert receiver.connections == 2  # a new one for 127.0.0.2, then kept for it


async def test_a_refused_address_sends_nothing_even_with_a_connection_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter(["127.0.0.1", "10.0.0.1"])

    async def lookup(host: str, port: int) -> list[ssrf.IPAddress]:
        return [ipaddress.ip_address(next(answers))]

    monkeypatch.setattr(ssrf, "lookup", lookup)
    async with serving(KeepAlive()) as receiver, sending.client() as http:
        url = f"http://hooks.example.org:{receiver.port}/hooks"
        assert (await _send(http, url, "msg_1")).ok
        refused = await _send(http, url, "msg_2")
    assert refused.status_code is None and refused.error is not None
    assert ssrf.NOT_ALLOWED in refused.error
    assert receiver.requests == 1
