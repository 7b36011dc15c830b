"""The database: one async engine per process, one transaction per request."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from app.core.fair_pool import FairAsyncPool

# An execution option: begin SQLite transactions deferred (no write lock) on this connection.
DEFERRED_BEGIN = "rapport_deferred_begin"


def create_engine(url: str, *, echo: bool = False, **kwargs: Any) -> AsyncEngine:
    """Build an engine that behaves the same way on SQLite and PostgreSQL.

    SQLite's driver normally opens transactions lazily and cannot nest savepoints; we take
    control of BEGIN so that transactions, savepoints and foreign keys work as on PostgreSQL.
    `BEGIN IMMEDIATE` takes the write lock up front, so two writers queue on the busy timeout
    instead of failing with "database is locked" when both try to upgrade a read lock. Reading
    sessions (see `create_sessionmaker(reading=True)`) begin deferred, so in WAL mode they
    neither wait for nor block writers.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, echo=echo, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            deferred = connection.get_execution_options().get(DEFERRED_BEGIN, False)
            connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("poolclass", FairAsyncPool)
    engine = create_async_engine(url, echo=echo, **kwargs)
    event.listen(engine.sync_engine, "checkout", _discard_closed)
    return engine


def _discard_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Never hand out a pooled connection the server has closed.

    When PostgreSQL restarts (or a backend is terminated) every idle connection in the pool
    is dead; asyncpg notices the server closing the socket and marks the connection closed.
    Without this check the first request on each such connection fails with a 500, and an
    API process idle during the outage meets them all once the database is back. Raising
    `DisconnectionError` here makes the pool drop the connection and open a new one. The
    check is a flag on the driver's connection: no round trip (unlike `pool_pre_ping`, which
    would cost one per checkout on the hot path). A connection whose peer vanished without
    closing it (a network partition) still fails once, and invalidates the pool as usual.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this pooled connection")


def create_sessionmaker(
    engine: AsyncEngine, *, reading: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions for changes, or (`reading=True`) for requests that only read.

    A reading session costs no transaction round trips: on PostgreSQL each statement runs
    in autocommit mode (no BEGIN/COMMIT); on SQLite it begins deferred, taking no write
    lock. It refuses to flush ORM changes, so a GET that writes must say so
    (`WriteSessionDep`) rather than write outside a transaction.
    """
    if not reading:
        return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    if engine.dialect.name == "sqlite":
        bind = engine.execution_options(**{DEFERRED_BEGIN: True})
    else:
        bind = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(
        bind, expire_on_commit=False, autoflush=False, sync_session_class=ReadingSession
    )


class ReadingSession(Session):
    """The sync half of a reading session: flushing changes is a programming error."""


@event.listens_for(ReadingSession, "before_flush")
def _refuse_to_write(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a reading session cannot write: declare the route WriteSessionDep")


_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_REQUEST_SESSION = "rapport.request_session"


def adopt_request_session(scope: MutableMapping[str, Any], session: AsyncSession) -> None:
    """Make `session`, whose transaction the caller begins and commits, the request's session.

    For a middleware that must write in the same transaction as the endpoint once the response
    is known (the idempotency store). The session dependencies then work in a savepoint of it:
    an endpoint that fails leaves no change behind, and nothing commits before the middleware.
    """
    scope[_REQUEST_SESSION] = session


@asynccontextmanager
async def _open(
    request: Request, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncSession]:
    # A context manager, not a generator iterated with `async for`: an endpoint's exception
    # must reach the transaction now, not when the abandoned generator is collected.
    adopted: AsyncSession | None = request.scope.get(_REQUEST_SESSION)
    if adopted is not None:
        async with adopted.begin_nested():
            yield adopted
        return
    async with sessionmaker() as session, session.begin():
        yield session


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session whose transaction commits when the endpoint returns without error.

    Declared with `scope="function"` (see `SessionDep`), so the commit happens before the
    response is sent: a client never sees a success for a change that was not stored.
    Services only `flush()`; this is the single place that commits, but for a request whose
    session a middleware adopted (`adopt_request_session`), which commits it itself.
    """
    state = request.app.state
    reading = request.method in _READING_METHODS
    sessionmaker = state.reading_sessionmaker if reading else state.sessionmaker
    async with _open(request, sessionmaker) as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For the rare GET that writes (e.g. assigning today's prompt on first read)."""
    async with _open(request, request.app.state.sessionmaker) as session:
        yield session


def write_session(request: Request) -> AbstractAsyncContextManager[AsyncSession]:
    """The request's writing session, opened here rather than as a dependency (for a route
    that needs one only on some paths): it commits when the block ends without error."""
    return _open(request, request.app.state.sessionmaker)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session, scope="function")]
