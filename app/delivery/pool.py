"""Kept-alive webhook connections, one request at a time each, kept per origin and pin.

httpcore's pool checks every connection it holds (expiry, and a `getpeername` + poll to see
whether the server hung up) each time a request starts or a response closes: with dozens of
connections to one receiver that was about a quarter of the worker's time. Here a request
takes an idle connection of its own key and checks that one alone; a response closed with
its connection idle gives the connection back.

A key is the request's origin and the pin it was sent under (`sending._Pin`: the host, port
and vetted addresses), so a connection is reused only for a delivery whose addresses were
vetted exactly as those it was made for; a new connection goes through the pool's network
backend, which connects only to the pinned addresses.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable
from types import TracebackType

import httpcore

MAX_IDLE_PER_KEY = 64
SWEEP_EVERY = 1.0
"""Seconds between sweeps closing every expired idle connection (of hosts not sent to again)."""


class _Stream:
    """A response body that hands its connection back to the pool when closed."""

    def __init__(
        self,
        stream: AsyncIterable[bytes],
        pool: LeanPool,
        key: Hashable,
        connection: httpcore.AsyncHTTPConnection,
    ) -> None:
        self._stream = stream
        self._pool = pool
        self._key = key
        self._connection = connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            await self._pool.give_back(self._key, self._connection)


class LeanPool:
    """What `httpx.AsyncHTTPTransport` calls as its pool (`handle_async_request`, `aclose`)."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        network_backend: httpcore.AsyncNetworkBackend,
        pin: Callable[[], Hashable],
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._ssl_context = ssl_context
        self._backend = network_backend
        self._pin = pin
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[Hashable, list[httpcore.AsyncHTTPConnection]] = {}
        self._swept = time.monotonic()
        self._closed = False

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if self._closed:
            raise RuntimeError("the webhook connection pool is closed")
        await self._sweep()
        origin = request.url.origin
        key = (origin.scheme, origin.host, origin.port, self._pin())
        while True:
            connection = await self._take(key)
            reused = connection is not None
            if connection is None:
                connection = httpcore.AsyncHTTPConnection(
                    origin=request.url.origin,
                    ssl_context=self._ssl_context,
                    keepalive_expiry=self._keepalive_expiry,
                    network_backend=self._backend,
                )
            try:
                response = await connection.handle_async_request(request)
            except httpcore.ConnectionNotAvailable:
                await connection.aclose()
                if reused:
                    continue  # it closed between the check and the request: take another
                raise
            except BaseException:
                await connection.aclose()
                raise
            assert isinstance(response.stream, AsyncIterable)
            return httpcore.Response(
                status=response.status,
                headers=response.headers,
                content=_Stream(response.stream, self, key, connection),
                extensions=response.extensions,
            )

    async def _take(self, key: Hashable) -> httpcore.AsyncHTTPConnection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.is_available() and not connection.has_expired():
                return connection
            await connection.aclose()
        return None

    async def give_back(self, key: Hashable, connection: httpcore.AsyncHTTPConnection) -> None:
        idle = self._idle.setdefault(key, [])
        if self._closed or not connection.is_idle() or len(idle) >= MAX_IDLE_PER_KEY:
            await connection.aclose()
            return
        idle.append(connection)

    async def _sweep(self) -> None:
        now = time.monotonic()
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        for key, idle in list(self._idle.items()):
            keep = []
            for connection in idle:
                if connection.has_expired() or not connection.is_available():
                    await connection.aclose()
                else:
                    keep.append(connection)
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()

    async def __aenter__(self) -> LeanPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()
