"""The generic rate limiter, on its in-memory backend and on a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from app.core.problems import RateLimited
from app.core.ratelimit import MemoryBackend, RateLimitBackend, RateLimiter, RedisBackend

REDIS_URL = "redis://127.0.0.1:6379/0"


async def _redis_or_skip() -> RedisBackend:
    backend = RedisBackend(REDIS_URL, prefix=f"rapport-test:{uuid.uuid4().hex}:")
    try:
        await backend.get("ping")
    except Exception as exc:  # any failure means no usable Redis here
        await backend.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return backend


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[RateLimitBackend]:
    made: RateLimitBackend = (
        MemoryBackend() if request.param == "memory" else await _redis_or_skip()
    )
    yield made
    await made.close()


async def test_hits_are_counted_up_to_the_limit(backend: RateLimitBackend) -> None:
    limiter = RateLimiter(backend, name="test", limit=3, window_seconds=60)
    results = [await limiter.hit("k") for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]
    refused = results[-1]
    assert 0 < refused.retry_after <= 60
    assert refused.headers()["Retry-After"] == str(refused.retry_after)
    assert refused.headers()["RateLimit-Policy"] == '"test";q=3;w=60'
    assert (await limiter.hit("other")).allowed, "keys are independent"


async def test_peek_refund_and_reset(backend: RateLimitBackend) -> None:
    limiter = RateLimiter(backend, name="test", limit=2, window_seconds=60)
    assert (await limiter.peek("k")).remaining == 2
    await limiter.hit("k")
    await limiter.hit("k")
    assert (await limiter.peek("k")).remaining == 0
    await limiter.refund("k")
    assert (await limiter.peek("k")).remaining == 1
    await limiter.reset("k")
    assert (await limiter.peek("k")).remaining == 2
    await limiter.refund("never-hit")
    assert (await limiter.peek("never-hit")).remaining == 2, "a refund never goes below zero"


async def test_check_raises_a_429_problem(backend: RateLimitBackend) -> None:
    limiter = RateLimiter(backend, name="join", limit=1, window_seconds=60)
    await limiter.check("couple-code")
    with pytest.raises(RateLimited) as raised:
        await limiter.check("couple-code")
    response = raised.value.to_response()
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["ratelimit"].startswith('"join";r=0;')


async def test_the_window_ends() -> None:
    clock = [1000.0]
    limiter = RateLimiter(
        MemoryBackend(clock=lambda: clock[0]), name="test", limit=1, window_seconds=60
    )
    await limiter.hit("k")
    clock[0] += 59
    refused = await limiter.hit("k")
    assert not refused.allowed and refused.retry_after == 1, (
        "the window is anchored at the first hit"
    )
    clock[0] += 1
    assert (await limiter.hit("k")).allowed


async def test_windows_carry_an_expiry(backend: RateLimitBackend) -> None:
    await backend.incr("k", 1, 60)
    count, ttl = await backend.get("k")
    assert count == 1 and 59 < ttl <= 60


async def test_redis_counts_are_shared_between_clients() -> None:
    first = await _redis_or_skip()
    second = RedisBackend(REDIS_URL, prefix=first._prefix)
    try:
        a = RateLimiter(first, name="shared", limit=2, window_seconds=60)
        b = RateLimiter(second, name="shared", limit=2, window_seconds=60)
        await a.hit("k")
        await b.hit("k")
        assert not (await a.hit("k")).allowed
    finally:
        await first.close()
        await second.close()
