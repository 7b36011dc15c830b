"""The idempotency records: a key's claim, and its outcome stored in the request's transaction.

A record starts as a *claim* (no outcome yet), committed on its own so that every process sees
that the key is taken, and by which request (its fingerprint). The outcome replaces the claim
in the request's own transaction, just before that transaction commits; so after a crash
either the change and its outcome were both stored (a retry replays the outcome) or neither
was (a retry runs afresh once the claim is known to be dead).

Whether a claim is alive depends on the engine:

- PostgreSQL: the request's transaction holds an advisory lock on the key while it runs. A
  crash ends that transaction, so the claim dies with it, at once.
- SQLite has no such lock, and one writer at a time: a claim lives for `CLAIM_LEASE`. Taking
  over a claim needs the write lock, which a running request holds from its first write to its
  commit, and a request stores its outcome only if its claim is still the record's, otherwise
  it rolls back; so a slow first request and its retry never both keep a change.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.encryption_orm import open_bytes, seal_bytes
from app.core.idempotency_request import IdempotencyKeyInFlight, IdempotencyKeyReused
from app.models.base import utcnow
from app.models.idempotency import IdempotencyRecord

_BODY = ("idempotency_keys", "response_body")
CLAIM_LEASE = timedelta(seconds=10)
"""SQLite only: how long a claim blocks its key when its request may have died."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | None
    """None when the response was marked `Cache-Control: no-store`."""


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    caller: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Claim:
    """This request holds the key: the id of its claim record."""

    record_id: uuid.UUID
    owner: uuid.UUID | None = None
    """The person the caller acts for: the stored response is sealed under their data key."""


def caller_person(caller: str) -> uuid.UUID | None:
    """The user id of a `subject@client` caller, None for a client or `anonymous`."""
    subject, _, _ = caller.partition("@")
    try:
        return uuid.UUID(subject)
    except ValueError:
        return None


class IdempotencyStore:
    """Claims keys and settles them; `session` is always the request's own session."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        reading_sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ttl: timedelta,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.reading_sessionmaker = reading_sessionmaker
        self.ttl = ttl

    async def claim(
        self, session: AsyncSession, request: KeyedRequest, *, now: datetime | None = None
    ) -> Claim | StoredResponse:
        """Claim the key for this request, or return the first request's response.

        Raises IdempotencyKeyReused for another request, IdempotencyKeyInFlight while the
        first request runs. On PostgreSQL the claim lasts as long as `session`'s transaction.
        """
        now = now or utcnow()
        if session.get_bind().dialect.name == "postgresql":
            return await self._claim_with_lock(session, request, now)
        return await self._claim_with_lease(request, now)

    async def _claim_with_lock(
        self, session: AsyncSession, request: KeyedRequest, now: datetime
    ) -> Claim | StoredResponse:
        held = await session.scalar(
            select(func.pg_try_advisory_xact_lock(_lock_id(request.caller, request.key)))
        )
        # Read committed: each statement sees what the key's previous holders committed.
        record = await _read(session, request)
        first = _verdict(record, request.fingerprint, now, alive=not held)
        if first is not None:
            return first
        return await self._write_claim(request, now)

    async def _claim_with_lease(
        self, request: KeyedRequest, now: datetime
    ) -> Claim | StoredResponse:
        # A read first: it takes no lock, so a duplicate learns of a running request at once
        # instead of queueing behind its write lock.
        async with self.reading_sessionmaker() as reading:
            record = await _read(reading, request)
        first = _verdict(record, request.fingerprint, now, alive=self._leased(record, now))
        if first is not None:
            return first
        return await self._write_claim(request, now, lease_checked=True)

    def _leased(self, record: IdempotencyRecord | None, now: datetime) -> bool:
        return (
            record is not None
            and record.completed_at is None
            and record.created_at > now - CLAIM_LEASE
        )

    async def _write_claim(
        self, request: KeyedRequest, now: datetime, *, lease_checked: bool = False
    ) -> Claim | StoredResponse:
        try:
            async with self.sessionmaker() as session, session.begin():
                if lease_checked:
                    # SQLite: this transaction holds the write lock; decide again, as another
                    # request may have claimed or finished since the read.
                    record = await _read(session, request)
                    first = _verdict(
                        record, request.fingerprint, now, alive=self._leased(record, now)
                    )
                    if first is not None:
                        return first
                await session.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.caller == request.caller,
                        IdempotencyRecord.key == request.key,
                    )
                )
                claim = IdempotencyRecord(
                    caller=request.caller,
                    key=request.key,
                    fingerprint=request.fingerprint,
                    created_at=now,
                    expires_at=now + self.ttl,
                )
                session.add(claim)
                await session.flush()
                return Claim(claim.id, caller_person(request.caller))
        except (IntegrityError, OperationalError):
            # A concurrent claim won, or (SQLite) a writer held the lock past the busy timeout.
            raise IdempotencyKeyInFlight() from None

    async def settle(
        self, session: AsyncSession, claim: Claim, outcome: StoredResponse | None
    ) -> bool:
        """In the request's transaction: store the outcome, or (None) free the key.

        False when the claim is no longer this request's (SQLite: it outlived its lease and a
        retry took the key over): the caller must roll back, the retry's change is the one.
        """
        mine = (IdempotencyRecord.id == claim.record_id, IdempotencyRecord.completed_at.is_(None))
        if outcome is None:
            result = await session.execute(delete(IdempotencyRecord).where(*mine))
        else:
            body = outcome.body
            if body is not None and claim.owner is not None:  # a response holds their words
                body = await seal_bytes(session, claim.owner, *_BODY, claim.record_id, body)
            result = await session.execute(
                update(IdempotencyRecord)
                .where(*mine)
                .values(
                    completed_at=utcnow(),
                    response_status=outcome.status,
                    response_headers=[[name, value] for name, value in outcome.headers],
                    response_body=body,
                )
            )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def release(self, claim: Claim) -> None:
        """After the request's transaction rolled back: free the key for a fresh attempt."""
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == claim.record_id,
                    IdempotencyRecord.completed_at.is_(None),
                )
            )


def _verdict(
    record: IdempotencyRecord | None, fingerprint: str, now: datetime, *, alive: bool
) -> StoredResponse | None:
    """The first request's response, or None when this request may claim the key.

    `alive`: another request holds the key right now. Raises when this request must not run.
    """
    if record is None or record.expires_at <= now:
        if alive:  # PostgreSQL: its holder has not committed its claim yet
            raise IdempotencyKeyInFlight()
        return None
    if record.completed_at is not None:
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        assert record.response_status is not None
        return StoredResponse(
            status=record.response_status,
            headers=[(name, value) for name, value in record.response_headers or []],
            body=record.response_body,
        )
    if not alive:
        return None  # its request died: take the key over
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    raise IdempotencyKeyInFlight()


async def _read(session: AsyncSession, request: KeyedRequest) -> IdempotencyRecord | None:
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == request.caller, IdempotencyRecord.key == request.key
        )
    )
    if record is not None:
        session.expunge(record)  # a snapshot: the request's session never writes it back
        record.response_body = await open_bytes(session, *_BODY, record.id, record.response_body)
    return record


def _lock_id(caller: str, key: str) -> int:
    """A signed 64-bit advisory lock id for the key (a clash only costs a spurious 409)."""
    digest = hashlib.sha256(f"idempotency\x00{caller}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete expired records in the caller's transaction; returns how many went."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
