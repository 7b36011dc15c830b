"""Errors that mean the database cannot be reached just now: a restart or failover, a
connection the server closed, every connection taken, SQLite's write lock held too long.
The request did nothing and may well succeed when retried, so it is answered `503` with
`Retry-After`, not `500`."""

from __future__ import annotations

import sqlite3

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa

RETRY_AFTER_SECONDS = 5

_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, timed out on connect
    sa.TimeoutError,  # no pooled connection became free in time
    asyncpg.PostgresConnectionError,  # class 08: the connection failed or is gone
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error`, or what it wraps, says the database is unreachable right now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _UNREACHABLE):
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True
        wrapped = current.orig if isinstance(current, sa.DBAPIError) else None
        current = wrapped or current.__cause__ or current.__context__
    return False
