"""Revoked access tokens, known to every process without a query per request.

Each process holds a `RevocationSet` of the live rows of the `revocations` table and asks it
about every token it accepts (`TokenService.verify`, cached tokens included). A `RevocationFeed`
keeps the set fresh:

- on PostgreSQL, the revoking transaction sends a `NOTIFY` carrying the row, delivered to
  every listening process when it commits; after every (re)connection the listener reloads
  all live rows, so nothing sent while it was away is missed;
- on SQLite (one machine, possibly several workers), each process reads the rows added since
  the last one it saw, once a second: one indexed query per process, never per request.

The process that revokes also applies the revocation itself as soon as its transaction
commits (`stage`), so the next request it serves already refuses the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from app.db import create_engine, create_sessionmaker
from app.models.base import utcnow
from app.models.revocations import Revocation

if TYPE_CHECKING:
    from app.core.tokens import AccessTokenClaims

logger = logging.getLogger("rapport.revocation")

CHANNEL = "rapport_revocations"
POLL_INTERVAL_SECONDS = 1.0
HEALTH_CHECK_SECONDS = 5.0
RECONNECT_DELAY_SECONDS = 1.0
_STAGED = "rapport_staged_revocations"


@dataclass(frozen=True, slots=True)
class Entry:
    """One revocation as the in-memory set holds it (times in epoch milliseconds)."""

    id: int
    user_id: uuid.UUID | None
    client_id: str | None
    token_id: str | None
    session_id: str | None
    revoked_ms: int
    expires_ms: int

    @classmethod
    def from_row(cls, row: Revocation) -> Entry:
        return cls(
            id=row.id,
            user_id=row.user_id,
            client_id=row.client_id,
            token_id=row.token_id,
            session_id=row.session_id,
            revoked_ms=int(row.revoked_at.timestamp() * 1000),
            expires_ms=int(row.expires_at.timestamp() * 1000),
        )

    def to_json(self) -> str:
        data = asdict(self)
        data["user_id"] = str(self.user_id) if self.user_id else None
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, payload: str) -> Entry:
        data = json.loads(payload)
        user_id = data.pop("user_id")
        return cls(user_id=uuid.UUID(user_id) if user_id else None, **data)


class RevocationSet:
    """What this process knows is revoked; every check is a few dictionary lookups."""

    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}
        self._sessions: dict[str, int] = {}
        # (user, client) -> (tokens issued at or before this ms are refused, expiry ms)
        self._subjects: dict[tuple[uuid.UUID | None, str | None], tuple[int, int]] = {}
        self.last_id = 0

    def __len__(self) -> int:
        return len(self._tokens) + len(self._sessions) + len(self._subjects)

    def add(self, entry: Entry) -> None:
        self.last_id = max(self.last_id, entry.id)
        if entry.token_id is not None:
            self._tokens[entry.token_id] = max(
                entry.expires_ms, self._tokens.get(entry.token_id, 0)
            )
        elif entry.session_id is not None:
            known = self._sessions.get(entry.session_id, 0)
            self._sessions[entry.session_id] = max(entry.expires_ms, known)
        elif entry.user_id is not None or entry.client_id is not None:
            key = (entry.user_id, entry.client_id)
            before, expires = self._subjects.get(key, (0, 0))
            self._subjects[key] = (max(before, entry.revoked_ms), max(expires, entry.expires_ms))

    def add_all(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.add(entry)

    def is_revoked(self, claims: AccessTokenClaims) -> bool:
        if not (self._tokens or self._sessions or self._subjects):
            return False
        if claims.jti in self._tokens:
            return True
        if claims.session_id is not None and claims.session_id in self._sessions:
            return True
        if not self._subjects:
            return False
        issued = claims.issued_ms
        for key in (
            (claims.user_id, claims.client_id),
            (claims.user_id, None),
            (None, claims.client_id),
        ):
            found = self._subjects.get(key)
            if found is not None and issued <= found[0]:
                return True
        return False

    def prune(self, now_ms: int | None = None) -> None:
        """Forget revocations no token they could stop outlives."""
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        self._tokens = {k: v for k, v in self._tokens.items() if v > now}
        self._sessions = {k: v for k, v in self._sessions.items() if v > now}
        self._subjects = {k: v for k, v in self._subjects.items() if v[1] > now}


# This process's sets, by the database they follow, for applying what a transaction commits.
_local_sets: weakref.WeakKeyDictionary[RevocationSet, str] = weakref.WeakKeyDictionary()


def stage(session: Session, entry: Entry) -> None:
    """Apply `entry` to this process's sets once the session's transaction commits."""
    session.info.setdefault(_STAGED, []).append(entry)


@event.listens_for(Session, "after_commit")
def _apply_staged(session: Session) -> None:
    entries: list[Entry] = session.info.pop(_STAGED, [])
    if not entries:
        return
    url = str(session.get_bind().engine.url)
    for revocations, followed in list(_local_sets.items()):
        if followed == url:
            revocations.add_all(entries)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)


async def load_live(session: AsyncSession, *, after_id: int = 0) -> list[Entry]:
    """The rows that may still stop a token (all of them, or those after `after_id`)."""
    statement = select(Revocation).order_by(Revocation.id)
    if after_id:
        statement = statement.where(Revocation.id > after_id)
    else:
        statement = statement.where(Revocation.expires_at > utcnow())
    rows = (await session.scalars(statement)).all()
    return [Entry.from_row(row) for row in rows]


class RevocationFeed:
    """Keeps a `RevocationSet` fresh from the database; started and stopped by the lifespan."""

    def __init__(
        self,
        revocations: RevocationSet,
        engine: AsyncEngine,
        *,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        health_check_interval: float = HEALTH_CHECK_SECONDS,
    ) -> None:
        self.revocations = revocations
        self.poll_interval = poll_interval
        self.health_check_interval = health_check_interval
        self._url = engine.url
        self._is_postgres = engine.dialect.name == "postgresql"
        # A connection of its own: the feed neither borrows the app's pool nor shows up in it.
        self._engine = create_engine(
            engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0
        )
        self._reader = create_sessionmaker(self._engine, reading=True)
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None  # an asyncpg connection (the driver ships no type hints)
        self.synced = asyncio.Event()
        """Set while the set is known to be complete (cleared when the listener is lost)."""

    async def start(self) -> None:
        """Load the live rows, then follow new ones in the background.

        An unreachable database does not stop the process from starting (it answers
        `/readyz` with 503 meanwhile): the feed keeps trying, and loads everything once in.
        """
        _local_sets[self.revocations] = str(self._url)
        try:
            if self._is_postgres:
                await self._listen()
            else:
                await self._reload(after_id=0)
        except Exception:
            logger.warning("revocations could not be loaded yet; retrying", exc_info=True)
        follow = self._supervise() if self._is_postgres else self._poll()
        self._task = asyncio.create_task(follow, name="revocation-feed")

    async def stop(self) -> None:
        _local_sets.pop(self.revocations, None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_listener()
        await self._engine.dispose()

    async def _reload(self, *, after_id: int) -> None:
        async with self._reader() as session:
            if after_id == 0:
                latest = await session.scalar(select(func.max(Revocation.id)))
                self.revocations.last_id = max(self.revocations.last_id, latest or 0)
            entries = await load_live(session, after_id=after_id)
        self.revocations.add_all(entries)
        self.revocations.prune()
        self.synced.set()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                # Until a first load succeeded, everything; then what came since.
                await self._reload(after_id=self.revocations.last_id if self.synced.is_set() else 0)
            except Exception:
                logger.exception("reading new revocations failed; retrying")

    # PostgreSQL -------------------------------------------------------------------------------

    async def _listen(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        args, options = self._engine.dialect.create_connect_args(self._url)
        for name in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            options.pop(name, None)
        connection = await asyncpg.connect(*args, **options)
        try:
            await connection.add_listener(CHANNEL, self._on_notify)
            # Listening first, then loading: a row committed in between arrives either way.
            await self._reload(after_id=0)
        except BaseException:
            await connection.close()
            raise
        self._listener = connection

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.revocations.add(Entry.from_json(payload))
        except (ValueError, TypeError, KeyError):
            logger.warning("ignored a malformed revocation notification")

    async def _supervise(self) -> None:
        while True:
            try:
                if self._listener is None:
                    await self._listen()
                    logger.info("revocation listener reconnected")
                await asyncio.sleep(self.health_check_interval)
                assert self._listener is not None
                await self._listener.fetchval("SELECT 1", timeout=HEALTH_CHECK_SECONDS)
                self.revocations.prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("revocation listener lost; reconnecting", exc_info=True)
                self.synced.clear()
                await self._close_listener()
                await asyncio.sleep(min(RECONNECT_DELAY_SECONDS, self.health_check_interval))

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)


def notify_statement(entry: Entry) -> Any:
    """The `NOTIFY` that tells every listening process, delivered when the transaction commits."""
    return select(func.pg_notify(CHANNEL, entry.to_json()))
