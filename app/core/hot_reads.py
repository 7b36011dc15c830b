"""Hot reads: one SELECT on the driver's own connection, for the few reads every app makes
on every screen.

A Core statement costs SQLAlchemy's execution path (result processing, the session, the
per-statement event hooks) on every call; on PostgreSQL that is about half of a small GET's
CPU. A `HotQuery` compiles its statement for asyncpg once and runs it with
`Connection.fetchrow` on a connection borrowed from the engine's own pool, so pooling,
connection limits and disposal stay the engine's. asyncpg prepares and caches the statement
per connection and decodes `uuid` and `timestamptz` natively.

On SQLite (the embedded default, never the hot path in production) the same statement runs
through SQLAlchemy, whose column types turn SQLite's text back into UUIDs and aware datetimes,
so the two engines return the same Python values.

Each call runs in autocommit on a connection of its own, except through `within`: then on the
connection (and in the transaction) of a session the request already holds, so that no request
waits on the pool for a second connection while holding a first (with every connection held
that way, a busy process would wait for ever).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from app.db import DEFERRED_BEGIN

_POSTGRES = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


class HotQuery:
    """A SELECT with named bind parameters, compiled for asyncpg once."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_POSTGRES)
        self.postgres_sql = str(compiled)
        self.parameter_order: tuple[str, ...] = tuple(compiled.positiontup or ())


class HotReader:
    """Runs `HotQuery`s against one engine; one per process, on `app.state`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._postgres = engine.dialect.name == "postgresql"
        # SQLite: begin deferred, as reading sessions do, so a read takes no write lock.
        self._engine = (
            engine if self._postgres else engine.execution_options(**{DEFERRED_BEGIN: True})
        )
        # Told each statement sent past SQLAlchemy (whose cursor events don't see it), and its
        # positional values, so query counts, tracing and recorded plans see every hot read.
        self.statement_listeners: list[Callable[[str, Sequence[Any]], None]] = []
        self.url = engine.url  # whose data keys (`crypto.key_provider`) its rows are sealed with
        self._held: AsyncConnection | None = None

    def within(self, connection: AsyncConnection) -> HotReader:
        """This reader on `connection` (a session's, from `session.connection()`): its reads
        join that transaction and take nothing more from the pool."""
        bound = copy.copy(self)  # the same engine and statement listeners
        bound._held = connection
        return bound

    @property
    def on_postgres(self) -> bool:
        return self._postgres

    async def commit_one(self, query: HotQuery, **params: Any) -> Mapping[str, Any] | None:
        """PostgreSQL: run one statement that writes (DML in its CTEs) and return its first
        row. It runs in autocommit, so everything it writes commits together once it returns:
        a statement is a transaction of its own. (Through `within`, it joins the session's.)"""
        if not self._postgres:
            raise RuntimeError("one-statement writes are PostgreSQL's (DML in a CTE)")
        return await self.one(query, **params)

    async def one(self, query: HotQuery, **params: Any) -> Mapping[str, Any] | None:
        """The first row as a mapping of column names, or None."""
        rows = await self._run(query, params, first_only=True)
        return rows[0] if rows else None

    async def all(self, query: HotQuery, **params: Any) -> Sequence[Mapping[str, Any]]:
        """Every row, each read by column name (asyncpg's records, SQLAlchemy's mappings)."""
        return await self._run(query, params, first_only=False)

    async def _run(
        self, query: HotQuery, params: dict[str, Any], *, first_only: bool
    ) -> Sequence[Mapping[str, Any]]:
        if not self._postgres:
            if self._held is not None:
                return await _through_sqlalchemy(self._held, query, params, first_only)
            async with self._engine.connect() as connection:
                return await _through_sqlalchemy(connection, query, params, first_only)
        values = [params[name] for name in query.parameter_order]
        for listener in self.statement_listeners:
            listener(query.postgres_sql, values)
        if self._held is not None:
            held = await self._held.get_raw_connection()
            return await _fetch(held.driver_connection, query.postgres_sql, values, first_only)
        # Straight from the pool (its checkout checks still run), without a `Connection`: it
        # would cost more than the statement. No transaction is begun, so returning the
        # connection to the pool sends nothing.
        raw = await self._engine.raw_connection()
        try:
            return await _fetch(raw.driver_connection, query.postgres_sql, values, first_only)
        finally:
            await greenlet_spawn(raw.close)


async def _fetch(
    driver: Any, sql: str, values: Sequence[Any], first_only: bool
) -> Sequence[Mapping[str, Any]]:
    if first_only:
        record = await driver.fetchrow(sql, *values)
        return [] if record is None else [dict(record.items())]
    records: Sequence[Mapping[str, Any]] = await driver.fetch(sql, *values)
    return records


async def _through_sqlalchemy(
    connection: AsyncConnection, query: HotQuery, params: dict[str, Any], first_only: bool
) -> Sequence[Mapping[str, Any]]:
    result = (await connection.execute(query.statement, params)).mappings()
    rows = [result.first()] if first_only else list(result)
    return [dict(row) for row in rows if row is not None]


async def _hot_reader(request: Request) -> HotReader:
    reader: HotReader = request.app.state.hot_reader
    return reader


HotReaderDep = Annotated[HotReader, Depends(_hot_reader)]
