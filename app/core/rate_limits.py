"""General rate limits on every operation: per access token and per IP address.

A pure ASGI middleware on the hot path: no database query, no signature check. Each request
counts once against its IP address and, when it carries a bearer token, once against that
token's subject and client, both through the `limits` library's sliding-window counter
(in memory by default, shared through Redis when `settings.redis_url` is set). Every response
carries the IETF httpapi draft headers for the limits that applied:

    RateLimit-Policy: "token";q=600;w=60, "ip";q=1200;w=60
    RateLimit: "token";r=598;t=42, "ip";r=1190;t=42

and a request over a limit is answered 429 (an RFC 9457 problem) with `Retry-After`. Health
checks (`/healthz`, `/readyz`) are never counted. The stricter sign-in and sign-up limits of
`app.core.ratelimit` still apply on top.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.core.problems import RateLimited

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
REDIS_KEY_PREFIX = "rapport-limits"


@dataclass(frozen=True, slots=True)
class Standing:
    """One policy's state for one request."""

    policy: str
    quota: int
    window: int
    remaining: int
    reset_after: int
    allowed: bool


def _quota(text: str | None) -> RateLimitItem | None:
    return parse_many(text)[0] if text else None


SWEEP_INTERVAL_SECONDS = 5.0


class ThrottledMemoryStorage(MemoryStorage):
    """`limits`' memory storage, sweeping expired counters at most every few seconds.

    The stock storage starts a sweep of every key after each hit once the previous sweep has
    finished: with 10,000 active buckets that costs about 2 ms per request, with 50,000 about
    15 ms. Reads already ignore expired counters, so the sweep only gives memory back and can
    wait. (The hook is the base class's private method, spelled out: tests/test_rate_limits.py
    fails if a release of `limits` renames it.)
    """

    def __init__(self) -> None:
        super().__init__()
        self._swept_at = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._swept_at >= SWEEP_INTERVAL_SECONDS:
            self._swept_at = now
            await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


def create_storage(redis_url: str | None, *, key_prefix: str = REDIS_KEY_PREFIX) -> Storage:
    if not redis_url:
        return ThrottledMemoryStorage()
    storage = storage_from_string(
        f"async+{redis_url}", implementation="redispy", key_prefix=key_prefix
    )
    assert isinstance(storage, Storage)  # an async+ scheme gives an async storage
    return storage


class GeneralRateLimits:
    def __init__(
        self,
        storage: Storage,
        *,
        per_token: RateLimitItem | None,
        per_ip: RateLimitItem | None,
    ) -> None:
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.per_token = per_token
        self.per_ip = per_ip
        self.shared = not isinstance(storage, MemoryStorage)

    @classmethod
    def from_settings(cls, settings: Settings) -> GeneralRateLimits:
        return cls(
            create_storage(settings.redis_url),
            per_token=_quota(settings.rate_limit_per_token),
            per_ip=_quota(settings.rate_limit_per_ip),
        )

    async def _hit(self, policy: str, item: RateLimitItem, key: str) -> Standing:
        allowed = await self.limiter.hit(item, policy, key)
        stats = await self.limiter.get_window_stats(item, policy, key)
        window = item.get_expiry()
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return Standing(
            policy, item.amount, window, stats.remaining, min(reset_after, window), allowed
        )

    async def hit(self, token_key: str | None, address: str) -> list[Standing]:
        hits = []
        if self.per_token is not None and token_key is not None:
            hits.append(self._hit("token", self.per_token, token_key))
        if self.per_ip is not None:
            hits.append(self._hit("ip", self.per_ip, address))
        if self.shared and len(hits) > 1:
            # Redis: both policies' round trips overlap instead of adding up.
            return list(await asyncio.gather(*hits))
        return [await pending for pending in hits]

    async def reset(self) -> None:
        """Forget every count (tests start each case from a clean slate)."""
        await self.storage.reset()


def token_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bucket of a bearer token: its client and subject, read WITHOUT verifying it.

    An app sends the same token for many requests in a row, so the bucket of the last few
    thousand tokens is remembered (`_bucket_of`).

    Verification happens later, in the endpoint's security dependency; the limiter runs
    before routing and must stay cheap. Keying on unverified claims is safe: a caller who
    forges subjects only spreads their own requests over more token buckets (each one still
    limited), and every request also counts against the IP address's limit, which a forged
    token cannot escape. A caller cannot drain someone else's bucket without holding a token
    naming them, and such a token is rejected with 401 after being counted, as any request is.
    """
    for name, value in headers:
        if name == b"authorization":
            return _bucket_of(value) if len(value) <= 8192 else None
    return None


@functools.lru_cache(maxsize=4096)
def _bucket_of(authorization: bytes) -> str | None:
    scheme, _, token = authorization.partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    parts = token.strip().split(b".")
    if len(parts) != 3 or len(parts[1]) > 4096:
        return None
    try:
        claims: Any = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * 3))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    subject, client = claims.get("sub"), claims.get("client_id")
    if isinstance(subject, str) and isinstance(client, str):
        return f"{client}:{subject}"[:300]
    return None


def _header_values(standings: list[Standing]) -> list[tuple[bytes, bytes]]:
    policy = ", ".join(f'"{s.policy}";q={s.quota};w={s.window}' for s in standings)
    state = ", ".join(f'"{s.policy}";r={s.remaining};t={s.reset_after}' for s in standings)
    return [(b"ratelimit-policy", policy.encode()), (b"ratelimit", state.encode())]


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limits: GeneralRateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        standings = await self.limits.hit(token_key(scope["headers"]), address)
        if not standings:
            await self.app(scope, receive, send)
            return
        extra = _header_values(standings)
        refused = [s for s in standings if not s.allowed]
        if refused:
            retry_after = max(max(1, s.reset_after) for s in refused)
            error = RateLimited(
                retry_after,
                f"Too many requests ({', '.join(s.policy for s in refused)} limit); "
                f"try again in {retry_after} seconds.",
            )
            error.headers.update({name.decode(): value.decode() for name, value in extra})
            await error.to_response(instance=scope["path"])(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    h for h in message.get("headers", []) if h[0].lower() not in _OWN
                ] + extra
            await send(message)

        await self.app(scope, receive, send_with_limits)


_OWN = frozenset({b"ratelimit", b"ratelimit-policy"})


def install_rate_limits(app: FastAPI, settings: Settings) -> None:
    """Add the middleware (where the call stands in the middleware order) and keep its state
    on `app.state.general_rate_limits`."""
    limits = GeneralRateLimits.from_settings(settings)
    app.state.general_rate_limits = limits
    app.add_middleware(RateLimitMiddleware, limits=limits)
