"""A small fixed-window rate limiter, in memory or shared through Redis.

A window opens at a key's first hit and lasts `window_seconds`; within it at most `limit`
hits are allowed. Anchoring the window at the first hit (rather than at clock boundaries)
keeps a burst from straddling two aligned windows right after the first attempt.

    limiter = RateLimiter(backend, name="sign-in", limit=5, window_seconds=900)
    result = await limiter.hit(f"ip:{address}")
    if not result.allowed: ...          # HTML pages render their own 429
    await limiter.check(key)            # JSON endpoints: raises RateLimited (a 429 problem)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request

from app.core.problems import RateLimited


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    """Seconds until the window ends and the count starts again."""
    policy: str
    window_seconds: int

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_after))

    def headers(self) -> dict[str, str]:
        """`RateLimit` and `RateLimit-Policy` (IETF httpapi draft); `Retry-After` when refused."""
        headers = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={self.window_seconds}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={math.ceil(self.reset_after)}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimitBackend(Protocol):
    async def incr(self, key: str, amount: int, window_seconds: int) -> tuple[int, float]:
        """Add `amount` to the key's count, opening a window when none is open.

        Returns the new count and the seconds left in the window. A negative amount never
        opens a window nor takes the count below zero.
        """

    async def get(self, key: str) -> tuple[int, float]:
        """The key's count and the seconds left in its window; (0, 0) when none is open."""

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """Counts in this process only: right for one process and for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        # No awaits inside the methods below: each runs atomically on the event loop.
        self._windows: dict[str, tuple[int, float]] = {}
        self._clock = clock

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            self._windows.pop(key, None)
            return None
        return entry

    async def incr(self, key: str, amount: int, window_seconds: int) -> tuple[int, float]:
        now = self._clock()
        entry = self._live(key, now)
        if entry is None:
            if amount <= 0:
                return 0, 0.0
            entry = (0, now + window_seconds)
            if len(self._windows) > 100_000:
                self._sweep(now)
        count = max(0, entry[0] + amount)
        self._windows[key] = (count, entry[1])
        return count, entry[1] - now

    async def get(self, key: str) -> tuple[int, float]:
        now = self._clock()
        entry = self._live(key, now)
        return (0, 0.0) if entry is None else (entry[0], entry[1] - now)

    async def delete(self, key: str) -> None:
        self._windows.pop(key, None)

    async def close(self) -> None:
        self._windows.clear()

    def clear(self) -> None:
        """Forget every window (tests use it to start from a clean slate)."""
        self._windows.clear()

    def _sweep(self, now: float) -> None:
        for key in [k for k, (_, ends) in self._windows.items() if ends <= now]:
            del self._windows[key]


# INCRBY and PEXPIRE in one atomic step, so a key can never be left without an expiry.
_INCR_SCRIPT = """
local amount = tonumber(ARGV[1])
if amount <= 0 and redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 0}
end
local count = redis.call('INCRBY', KEYS[1], amount)
if count < 0 then
  redis.call('SET', KEYS[1], 0, 'KEEPTTL')
  count = 0
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
"""


class RedisBackend:
    """Counts shared by every process that uses the same Redis."""

    def __init__(self, url: str, *, prefix: str = "rapport:ratelimit:") -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._incr: Any = self._redis.register_script(_INCR_SCRIPT)

    async def incr(self, key: str, amount: int, window_seconds: int) -> tuple[int, float]:
        count, ttl_ms = await self._incr(
            keys=[self._prefix + key], args=[amount, window_seconds * 1000]
        )
        return int(count), int(ttl_ms) / 1000

    async def get(self, key: str) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._prefix + key)
            pipe.pttl(self._prefix + key)
            raw, ttl_ms = await pipe.execute()
        if raw is None or ttl_ms < 0:
            return 0, 0.0
        return int(raw), int(ttl_ms) / 1000

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()


def create_backend(redis_url: str | None) -> RateLimitBackend:
    return RedisBackend(redis_url) if redis_url else MemoryBackend()


class RateLimiter:
    """`limit` hits per `window_seconds` for each key, under a policy `name`."""

    def __init__(
        self, backend: RateLimitBackend, *, name: str, limit: int, window_seconds: int
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be positive")
        self.backend = backend
        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds

    def _key(self, key: str) -> str:
        return f"{self.name}:{key}"

    def _result(self, count: int, reset_after: float) -> RateLimitResult:
        return RateLimitResult(
            allowed=count <= self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - count),
            reset_after=max(0.0, reset_after),
            policy=self.name,
            window_seconds=self.window_seconds,
        )

    async def hit(self, key: str, cost: int = 1) -> RateLimitResult:
        """Count an attempt; `allowed` is False once the key is over its limit."""
        count, reset_after = await self.backend.incr(self._key(key), cost, self.window_seconds)
        return self._result(count, reset_after)

    async def peek(self, key: str) -> RateLimitResult:
        """The key's state without counting anything."""
        count, reset_after = await self.backend.get(self._key(key))
        return self._result(count, reset_after)

    async def refund(self, key: str, cost: int = 1) -> None:
        """Give back a hit, e.g. when an attempt counted up front turned out to succeed."""
        await self.backend.incr(self._key(key), -cost, self.window_seconds)

    async def reset(self, key: str) -> None:
        await self.backend.delete(self._key(key))

    async def check(self, key: str, cost: int = 1) -> RateLimitResult:
        """Count an attempt and raise `RateLimited` (a 429 problem) when over the limit."""
        result = await self.hit(key, cost)
        if not result.allowed:
            error = RateLimited(result.retry_after)
            error.headers.update(result.headers())
            raise error
        return result


def shared_backend(app: Any) -> RateLimitBackend:
    """The app's one backend (Redis when `settings.redis_url` is set), made on first use."""
    backend: RateLimitBackend | None = getattr(app.state, "rate_limit_backend", None)
    if backend is None:
        backend = create_backend(app.state.settings.redis_url)
        app.state.rate_limit_backend = backend
    return backend


def password_confirmations(app: Any) -> RateLimiter:
    """The limit on wrong passwords typed to confirm an account change (deleting the
    account, the safety exit, a new password): one budget per person for all of them."""
    settings = app.state.settings
    return RateLimiter(
        shared_backend(app),
        name="account-password",
        limit=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
    )


async def close_shared_backend(app: Any) -> None:
    backend: RateLimitBackend | None = getattr(app.state, "rate_limit_backend", None)
    if backend is not None:
        app.state.rate_limit_backend = None
        await backend.close()


async def limit_sign_ups(request: Request) -> None:
    """A dependency: 429 when this IP address, or the server as a whole, signed up too often."""
    settings = request.app.state.settings
    backend = shared_backend(request.app)
    per_ip = RateLimiter(
        backend,
        name="sign-up-ip",
        limit=settings.signup_max_per_ip,
        window_seconds=settings.signup_ip_window_seconds,
    )
    everyone = RateLimiter(
        backend,
        name="sign-up",
        limit=settings.signup_max_global,
        window_seconds=settings.signup_global_window_seconds,
    )
    await per_ip.check(request.client.host if request.client else "unknown")
    await everyone.check("all")
