"""Send one webhook request, to vetted addresses only, trying each of them in turn.

The host is resolved and vetted once per attempt (`ssrf.resolve`); the connection then goes
to one of those addresses and nowhere else: the httpx transport's network backend never
resolves a name, it races TCP connections to the vetted addresses Happy Eyeballs style
(RFC 8305: families interleaved, the next address started after `CONNECTION_ATTEMPT_DELAY`
or as soon as the previous one fails, the first to connect wins). The request URL keeps the
host's name, so Host, TLS SNI and certificate verification are the name's, not an address's.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from itertools import zip_longest
from typing import Any, TypeVar

import httpcore
import httpx

from app.delivery import signing, ssrf
from app.delivery.pool import LeanPool

SEND_TIMEOUT = 15.0
MAX_RESPONSE_BODY = 2048
CONNECTION_ATTEMPT_DELAY = 0.25
"""RFC 8305 §5's recommended wait before starting the next address."""

Candidate = TypeVar("Candidate")
Connection = TypeVar("Connection")


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    body: str | None
    duration_ms: int
    started_at: datetime
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class _Pin:
    host: str
    port: int
    addresses: tuple[ssrf.IPAddress, ...]


_pinned: contextvars.ContextVar[_Pin | None] = contextvars.ContextVar("pinned", default=None)


def interleave(addresses: Sequence[ssrf.IPAddress]) -> list[ssrf.IPAddress]:
    """RFC 8305 §4: alternate the families, starting with the family the resolver put first."""
    if not addresses:
        return []
    first = [a for a in addresses if a.version == addresses[0].version]
    other = [a for a in addresses if a.version != addresses[0].version]
    return [a for pair in zip_longest(first, other) for a in pair if a is not None]


async def race(
    candidates: Sequence[Candidate],
    connect: Callable[[Candidate], Awaitable[Connection]],
    *,
    delay: float,
    discard: Callable[[Connection], Awaitable[None]],
) -> Connection:
    """The first connection made: the first candidate is started at once, each next one after
    `delay` or as soon as every running attempt failed; the losers are cancelled or closed.
    Raises the last attempt's error when none connects."""
    remaining = list(candidates)
    running: set[asyncio.Task[Connection]] = set()
    error: BaseException | None = None
    try:
        while remaining or running:
            if remaining:
                running.add(asyncio.ensure_future(connect(remaining.pop(0))))
            finished, _ = await asyncio.wait(
                running, timeout=delay if remaining else None, return_when=asyncio.FIRST_COMPLETED
            )
            winners = []
            for task in finished:
                running.discard(task)
                if task.exception() is None:
                    winners.append(task.result())
                else:
                    error = task.exception()
            if winners:
                for extra in winners[1:]:
                    await discard(extra)
                return winners[0]
            # No connection yet: the delay passed or an attempt failed; start the next.
    finally:
        for task in running:
            task.cancel()
        for result in await asyncio.gather(*running, return_exceptions=True):
            if not isinstance(result, BaseException):
                await discard(result)
    raise error if error is not None else ConnectionError("no address to connect to")


def _reason(error: BaseException) -> str:
    """Why connecting failed, without the address (OSError texts name it)."""
    cause = error.__cause__ or error.__context__ or error
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return type(cause).__name__


class _Coalescing(httpcore.AsyncNetworkStream):
    """Holds what is written until the next read: a request's head and body go out in one
    send (httpcore writes each h11 event on its own, a system call apiece). HTTP/1.1 as
    httpcore speaks it reads only once the whole request is written."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._write_timeout: float | None = None

    async def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            await self._stream.write(data, self._write_timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        await self._flush()
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if buffer:
            self._pending.append(buffer)
            self._write_timeout = timeout

    async def aclose(self) -> None:
        self._pending.clear()
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        await self._flush()
        return _Coalescing(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to the addresses vetted for the delivery being sent, never resolving."""

    def __init__(self) -> None:
        self._tcp = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore.AsyncNetworkBackend's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pin = _pinned.get()
        if pin is None or host.strip("[]").lower() != pin.host or port != pin.port:
            raise httpcore.ConnectError(f"{ssrf.NOT_ALLOWED}: {host} was not vetted")
        options = list(socket_options or ())

        async def connect(address: ssrf.IPAddress) -> httpcore.AsyncNetworkStream:
            return await self._tcp.connect_tcp(
                str(address), port, timeout, local_address, options or None
            )

        async def discard(stream: httpcore.AsyncNetworkStream) -> None:
            await stream.aclose()

        candidates = interleave(pin.addresses)
        try:
            stream = await race(
                candidates, connect, delay=CONNECTION_ATTEMPT_DELAY, discard=discard
            )
            return _Coalescing(stream)
        except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as error:
            plural = "es" if len(candidates) != 1 else ""
            raise httpcore.ConnectError(
                f"could not connect to any of {len(candidates)} vetted address{plural} "
                f"(last: {_reason(error)})"
            ) from None

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore.AsyncNetworkBackend's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError(ssrf.NOT_ALLOWED)

    async def sleep(self, seconds: float) -> None:
        await self._tcp.sleep(seconds)


@functools.cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    """One context per process: loading the trust store takes milliseconds, and a client
    context is safe to share between connections."""
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a pool whose connections go only to vetted addresses, each
    reused only under the same pin (`app.delivery.pool`)."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else _ssl_context(verify)
        super().__init__(verify=context, trust_env=False)
        # httpx offers no way to choose the pool: replace it (it only calls
        # `handle_async_request`, `aclose` and the context manager methods).
        self.pool = LeanPool(
            ssl_context=context,
            network_backend=_PinnedBackend(),
            pin=_pinned.get,
            keepalive_expiry=5.0,
        )
        self._pool = self.pool  # type: ignore[assignment]


class WebhookClient(httpx.AsyncClient):
    """An httpx client on the pinned transport; `send` below skips httpx's request and
    response layers (about a sixth of a delivery's time) and calls the pool directly."""

    def __init__(self, transport: PinnedTransport) -> None:
        super().__init__(
            transport=transport, follow_redirects=False, trust_env=False, timeout=SEND_TIMEOUT
        )
        self.pool = transport.pool


def client(*, verify: ssl.SSLContext | bool = True) -> WebhookClient:
    """The HTTP client deliveries go through; `verify` lets tests trust their own CA."""
    return WebhookClient(PinnedTransport(verify=verify))


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpcore.URL
    host_header: bytes
    pin_host: str


@functools.lru_cache(maxsize=4096)
def _parse(url: str) -> _Target:
    """httpx's reading of the URL (IDNA, default ports), parsed once per endpoint URL."""
    parsed = httpx.URL(url)
    return _Target(
        httpcore.URL(
            scheme=parsed.raw_scheme,
            host=parsed.raw_host,
            port=parsed.port,
            target=parsed.raw_path,
        ),
        parsed.netloc,
        parsed.raw_host.decode("ascii").strip("[]").lower(),
    )


_TIMEOUTS = {"connect": SEND_TIMEOUT, "read": SEND_TIMEOUT, "write": SEND_TIMEOUT}
_FAILURES = (
    httpx.HTTPError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    TimeoutError,
    OSError,
)


def _retry_after(value: str | None, now: float) -> int | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        return max(0, int(parsedate_to_datetime(value).timestamp() - now))
    except (TypeError, ValueError):
        return None


async def send(
    http: WebhookClient,
    url: str,
    *,
    message_id: str,
    secrets: list[str],
    body: bytes,
    allow_http: bool,
    allowed: Sequence[ssrf.IPNetwork],
    started_at: datetime,
) -> Outcome:
    """POST the signed body to the URL once; what happened, for the attempt log."""
    started = time.monotonic()

    def done(status: int | None, error: str | None, text: str | None = None, **kw: Any) -> Outcome:
        duration = int((time.monotonic() - started) * 1000)
        return Outcome(status, error, text, duration, started_at, **kw)

    try:
        target = await ssrf.resolve(url, allow_http=allow_http, allowed=allowed)
    except ssrf.UnsafeURL as error:
        return done(None, f"refused: {error}"[:500])
    signed = signing.headers_for(secrets, message_id, int(time.time()), body)
    try:
        parsed = _parse(url)
        headers = [
            (b"host", parsed.host_header),
            (b"user-agent", b"Rapport-Webhooks/1"),
            (b"accept-encoding", b"identity"),  # the logged body is read raw, never inflated
            *((name.encode(), value.encode()) for name, value in signed.items()),
            (b"content-length", str(len(body)).encode()),
        ]
        request = httpcore.Request(
            b"POST", parsed.url, headers=headers, content=body, extensions={"timeout": _TIMEOUTS}
        )
        token = _pinned.set(_Pin(parsed.pin_host, target.port, target.addresses))
        try:
            response = await asyncio.wait_for(http.pool.handle_async_request(request), SEND_TIMEOUT)
        finally:
            _pinned.reset(token)
        try:
            chunks = bytearray()
            async with asyncio.timeout(SEND_TIMEOUT):
                async for chunk in response.stream:  # type: ignore[union-attr]
                    chunks.extend(chunk)
                    if len(chunks) >= MAX_RESPONSE_BODY:
                        break
        finally:
            await response.aclose()
    except _FAILURES as error:
        return done(None, f"{type(error).__name__}: {error}"[:500])
    text = bytes(chunks[:MAX_RESPONSE_BODY]).decode("utf-8", "replace")
    retry_after = next(
        (v.decode("latin-1") for k, v in response.headers if k.lower() == b"retry-after"), None
    )
    return done(response.status, None, text, retry_after=_retry_after(retry_after, time.time()))
