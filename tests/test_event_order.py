"""Events become visible in `seq` order, so readers that walk `seq` never pass one over."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.events import append_event


async def test_an_event_writer_waits_for_the_one_before_it_to_commit(
    sessionmaker: async_sessionmaker[AsyncSession], is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time: there is no interleaving to test")

    async def second_writer() -> int:
        async with sessionmaker() as session, session.begin():
            event = await append_event(session, "user.created", user_id=uuid.uuid4())
            return event.seq

    async with sessionmaker() as first:
        await first.begin()
        earlier = await append_event(first, "user.created", user_id=uuid.uuid4())
        later = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        # Had the second writer committed now, a reader could see it and pass over `earlier`.
        assert not later.done()
        await first.commit()
    assert await asyncio.wait_for(later, timeout=10) > earlier.seq
