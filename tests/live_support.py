"""Reading `GET /v1/sync/stream` as a client does: real HTTP, Server-Sent Events parsed by
line (https://html.spec.whatwg.org/multipage/server-sent-events.html)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

STREAM = "/v1/sync/stream"
WAIT = 10.0
"""A failure bound, not a timing: what should arrive at once may take this long on a loaded
machine before the test gives up."""


@dataclass
class Received:
    """One event of the stream as a client's parser collects it."""

    data: dict[str, Any] | None = None
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


class EventStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.last_id: str | None = None
        """The `Last-Event-ID` a browser would send on reconnecting."""
        self.comments: list[str] = []

    async def _next(self) -> Received:
        received = Received()
        data: list[str] = []
        async for line in self._lines:
            if line == "":
                if data:
                    received.data = json.loads("\n".join(data))
                if data or received.id is not None or received.retry is not None:
                    return received
                if received.comments:
                    return received
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                received.comments.append(value)
            elif name == "data":
                data.append(value)
            elif name == "id":
                received.id = value
            elif name == "retry":
                received.retry = int(value)
        raise EOFError("the stream ended")

    async def next(self) -> Received:
        received = await asyncio.wait_for(self._next(), WAIT)
        if received.id is not None:
            self.last_id = received.id
        self.comments += received.comments
        return received

    async def item(self) -> dict[str, Any]:
        """The next feed item, past heartbeats and cursor moves."""
        while True:
            received = await self.next()
            if received.data is not None:
                return received.data

    async def items(self, count: int) -> list[dict[str, Any]]:
        return [await self.item() for _ in range(count)]

    async def ended(self) -> bool:
        """Whether the server closes the stream (within the bound), sending no item."""
        try:
            while True:
                received = await self.next()
                assert received.data is None, received.data
        except EOFError:
            return True


@asynccontextmanager
async def opened(
    http: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> AsyncIterator[EventStream]:
    """A stream the server has started (its opening comment read)."""
    async with http.stream("GET", STREAM, headers=headers, params=params) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"  # like the feed: private writing
        stream = EventStream(response)
        first = await stream.next()
        assert first.retry is not None and first.comments == ["stream open"]
        yield stream


async def refused(
    http: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    """A stream the server refuses before it starts: a problem, read whole."""
    async with http.stream("GET", STREAM, headers=headers, params=params) as response:
        await response.aread()
    assert response.status_code >= 400
    assert response.headers["content-type"].startswith("application/problem+json")
    return response
