"""The API's connection pool hands connections out first come, first served.

With SQLAlchemy's own asyncio pool a request arriving as a connection is returned takes it
ahead of the requests already waiting, and a woken waiter that finds nothing queues again at
the back: under load a few requests waited seconds. Each test runs one pool of one connection
on the suite's database (SQLite or PostgreSQL), with no overflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.config import Settings
from app.core.fair_pool import FairAsyncPool, FairQueue
from app.db import create_engine


@pytest.fixture
async def one_connection(test_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        test_settings.database_url,
        poolclass=FairAsyncPool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.3,
    )
    yield engine
    await engine.dispose()


async def _queue_up(engine: AsyncEngine, name: str, served: list[str]) -> None:
    async with engine.connect() as connection:
        served.append(name)
        await connection.execute(text("SELECT 1"))


async def _waiting(engine: AsyncEngine, count: int) -> None:
    queue = engine.sync_engine.pool._pool  # type: ignore[attr-defined]
    assert isinstance(queue, FairQueue)
    for _ in range(200):
        if queue.waiting() == count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{queue.waiting()} waiting, not {count}")


async def test_postgres_engines_get_the_fair_pool() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/unused")
    assert isinstance(engine.sync_engine.pool, FairAsyncPool)
    await engine.dispose()


async def test_waiters_are_served_in_the_order_they_came(one_connection: AsyncEngine) -> None:
    served: list[str] = []
    holder = await one_connection.connect()
    waiters = []
    for number, name in enumerate(["first", "second", "third"], start=1):
        waiters.append(asyncio.create_task(_queue_up(one_connection, name, served)))
        await _waiting(one_connection, number)
    await holder.close()
    # Asking again at once, before the first waiter has run, is asking last.
    await _queue_up(one_connection, "again", served)
    await asyncio.gather(*waiters)
    assert served == ["first", "second", "third", "again"]


async def test_a_waiter_times_out_and_the_next_one_is_served(
    one_connection: AsyncEngine,
) -> None:
    served: list[str] = []
    holder = await one_connection.connect()
    impatient = asyncio.create_task(_queue_up(one_connection, "impatient", served))
    await _waiting(one_connection, 1)
    with pytest.raises(exc.TimeoutError):
        await impatient  # the pool's own timeout error, after pool_timeout
    patient = asyncio.create_task(_queue_up(one_connection, "patient", served))
    await _waiting(one_connection, 1)
    await holder.close()
    await patient
    assert served == ["patient"]


async def test_a_cancelled_waiter_passes_the_connection_on(one_connection: AsyncEngine) -> None:
    served: list[str] = []
    holder = await one_connection.connect()
    cancelled = asyncio.create_task(_queue_up(one_connection, "cancelled", served))
    await _waiting(one_connection, 1)
    following = asyncio.create_task(_queue_up(one_connection, "following", served))
    await _waiting(one_connection, 2)
    await holder.close()  # handed to the first waiter, which is cancelled before it runs
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await following
    assert served == ["following"]
    # Nothing was lost: the one connection is back and can be taken at once.
    connection: AsyncConnection = await asyncio.wait_for(one_connection.connect(), 1)
    await connection.close()
