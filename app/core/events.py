"""Append events in the caller's transaction, and the order readers walk them in.

Payloads carry ids and types, never free text.

Readers (the sync feed, the webhook fan-out) walk events upwards from a mark and never look
back, so an event must never become visible below a mark a reader has already passed. Event
writers run concurrently on PostgreSQL and commit in any order, so `seq` alone is not such an
order: an event can commit after one with a higher `seq`. Instead every event carries its
transaction's id (`xid`), and readers take only events *settled*: written by transactions
older than the oldest one that could still write an event, in `(xid, seq)` order. Every
transaction that could still add an event has a higher `xid`, so it lands above any mark.

"Could still write an event": open in the statement's snapshot (`pg_snapshot_xip`), unless it
is known to belong to another database of the cluster (`pg_stat_activity`), so that a long
transaction elsewhere on the server does not hold this database's readers back. A transaction
that ended after the snapshot is missing from `pg_stat_activity` and counts as ours: it only
delays, never skips.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple, cast

from sqlalchemy import BigInteger, ColumnElement, Table, Tuple, insert, literal_column, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import live_broker
from app.core.event_catalog import check_payload, event_type
from app.models.base import utcnow
from app.models.events import Event

_ALLOWED_VALUE_TYPES = (uuid.UUID, int, bool, type(None))


class EventPosition(NamedTuple):
    """Where an event stands in the order readers walk: `(xid, seq)`."""

    xid: int
    seq: int

    @classmethod
    def of(cls, event: Event) -> EventPosition:
        return cls(event.xid, event.seq)


START = EventPosition(0, 0)


def position() -> Tuple:
    """The SQL form of `EventPosition`, to compare and order by."""
    return tuple_(Event.xid, Event.seq)


def after(mark: EventPosition) -> ColumnElement[bool]:
    return position() > tuple_(mark.xid, mark.seq)


# The oldest transaction id that may still write into this database, in the statement's own
# snapshot; `backend_xid` is a 32-bit xid, compared with the 64-bit ids by its low bits.
_WATERMARK = literal_column(
    """(
    SELECT least(
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
        (
            SELECT min(open_xid::text::bigint)
            FROM pg_snapshot_xip(pg_current_snapshot()) AS open_xid
            WHERE open_xid::text::bigint % 4294967296 NOT IN (
                SELECT backend_xid::text::bigint
                FROM pg_stat_activity
                WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
            )
        )
    )
)""",
    BigInteger,
)


def settled(session: AsyncSession) -> ColumnElement[bool]:
    """Events no open transaction can still add below: on PostgreSQL those written by
    transactions older than the oldest one that may still write here, judged in the same
    statement's snapshot; every event on SQLite, whose writers commit one at a time in `seq`
    order."""
    if session.get_bind().dialect.name != "postgresql":
        return true()
    return Event.xid < _WATERMARK


def _check_thin(data: dict[str, Any]) -> dict[str, Any]:
    """Keep payloads to ids, numbers, flags and short machine tokens (state names, kinds)."""
    thin: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, _ALLOWED_VALUE_TYPES):
            thin[name] = str(value) if isinstance(value, uuid.UUID) else value
        elif (
            isinstance(value, str)
            and len(value) <= 64
            and value.replace("_", "").replace("-", "").replace(".", "").replace(":", "").isalnum()
        ):
            thin[name] = value
        else:
            raise ValueError(f"event field {name!r} is not an id, number, flag or short token")
    return thin


def event_values(
    type: str, *, user_id: uuid.UUID | None, couple_id: uuid.UUID | None, **data: Any
) -> dict[str, Any]:
    """The columns of a new event (but `seq` and `xid`, the database's), its payload checked
    against the catalog and kept thin."""
    check_payload(event_type(type), data)  # what is written is what the catalog publishes
    return {
        "id": uuid.uuid4(),
        "type": type,
        "occurred_at": utcnow(),
        "user_id": user_id,
        "couple_id": couple_id,
        "data": _check_thin(data),
    }


async def append_event(
    session: AsyncSession,
    type: str,
    *,
    user_id: uuid.UUID | None = None,
    couple_id: uuid.UUID | None = None,
    **data: Any,
) -> Event:
    values = event_values(type, user_id=user_id, couple_id=couple_id, **data)
    # The change the event records is written first (the ORM's pending rows), then the
    # event with one INSERT built once: no unit of work for a row nobody changes again.
    if session.new or session.dirty or session.deleted:
        await session.flush()
    # On the session's connection, as Core: the ORM's execution path for an INSERT costs
    # several times the statement's own.
    connection = await session.connection()
    seq, xid = (await connection.execute(_INSERT_EVENT, values)).one()
    live_broker.mark(session, user_id=user_id, couple_id=couple_id)  # woken after commit
    return Event(seq=seq, xid=xid, **values)


_EVENTS = cast(Table, Event.__table__)
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.seq, _EVENTS.c.xid)
