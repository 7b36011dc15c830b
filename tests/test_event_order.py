"""Event writers commit concurrently, and readers (the fan-out, the sync feed) still never pass
over an event that commits after one they already took.

The two interleavings below are what a reader must survive on PostgreSQL. A reader walking
`seq` upwards loses an event in the first; one that also waits below the oldest open
transaction, but still walks `seq`, loses one in the second. Walking `(xid, seq)` below the
oldest open transaction loses neither.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings
from app.core.events import append_event
from app.delivery import fanout
from app.models.base import utcnow
from app.models.events import Event
from tests.conftest import MakeUser, Person

Read = Callable[[], Awaitable[set[uuid.UUID]]]
"""One pass of a reader from where it stopped: the ids of the events it took."""


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time: there is no interleaving to test")


@pytest.fixture
async def person(make_user: MakeUser) -> Person:
    return await make_user()


async def _fan_out_reader(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> Read:
    taken: set[uuid.UUID] = set()

    async def recording(session: AsyncSession, events: Sequence[Event], now: datetime) -> None:
        taken.update(event.id for event in events)

    monkeypatch.setattr(fanout, "create_deliveries", recording)

    async def read() -> set[uuid.UUID]:
        taken.clear()
        async with sessionmaker() as session, session.begin():
            await fanout.fan_out(session, utcnow(), limit=100)
        return set(taken)

    return read


async def _sync_reader(client: httpx.AsyncClient, person: Person) -> Read:
    cursor: list[str] = []

    async def read() -> set[uuid.UUID]:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor[-1]
        page = await client.get("/v1/sync", params=params, headers=person.headers("profile"))
        assert page.status_code == 200, page.text
        cursor.append(page.json()["next_cursor"])
        return {uuid.UUID(item["id"]) for item in page.json()["data"]}

    return read


@pytest.fixture(params=["fan-out", "sync"])
async def reader(
    request: pytest.FixtureRequest,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    person: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> Read:
    read = await (
        _fan_out_reader(sessionmaker, monkeypatch)
        if request.param == "fan-out"
        else _sync_reader(client, person)
    )
    await read()  # start past what the fixtures wrote
    return read


async def _write(session: AsyncSession, person: Person) -> uuid.UUID:
    event = await append_event(session, "user.updated", user_id=person.id)
    return event.id


async def test_event_writers_do_not_wait_for_each_other(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person
) -> None:
    async def second_writer() -> None:
        async with sessionmaker() as session, session.begin():
            await _write(session, person)

    async with sessionmaker() as first, first.begin():
        await _write(first, person)
        # No global lock: the second commits while the first is still open.
        await asyncio.wait_for(second_writer(), timeout=10)


async def test_an_event_committed_after_a_higher_seq_is_not_passed_over(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person, reader: Read
) -> None:
    seen: set[uuid.UUID] = set()
    async with sessionmaker() as slow:
        await slow.begin()
        early = await _write(slow, person)  # the lower seq, committed last
        async with sessionmaker() as fast, fast.begin():
            late = await _write(fast, person)
        seen |= await reader()
        await slow.commit()
    seen |= await reader()
    assert {early, late} <= seen


async def test_an_older_transaction_taking_a_higher_seq_is_not_passed_over(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person, reader: Read
) -> None:
    seen: set[uuid.UUID] = set()
    async with sessionmaker() as older, sessionmaker() as younger:
        await older.begin()
        await older.execute(select(func.pg_current_xact_id()))  # its id comes first
        await younger.begin()
        await younger.execute(select(func.pg_current_xact_id()))
        lower_seq = await _write(younger, person)  # the younger takes the lower seq ...
        higher_seq = await _write(older, person)
        await older.commit()  # ... and commits last
        seen |= await reader()
        await younger.commit()
    seen |= await reader()
    assert {lower_seq, higher_seq} <= seen


async def test_a_transaction_open_in_another_database_does_not_hold_readers_back(
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    person: Person,
    reader: Read,
) -> None:
    elsewhere = create_async_engine(make_url(test_settings.database_url).set(database="postgres"))
    try:
        async with elsewhere.connect() as other:
            await other.begin()
            await other.execute(select(func.pg_current_xact_id()))  # older than what follows
            async with sessionmaker() as session, session.begin():
                written = await _write(session, person)
            assert written in await reader()
            await other.rollback()
    finally:
        await elsewhere.dispose()
