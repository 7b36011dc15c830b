"""A reader's mark in the event stream: one locked row per reader (the webhook fan-out, the
push fan-out) holding the position of the last event it took, and the settled events past it.

Reading and moving the mark happen in the caller's transaction: the mark moves only if what
the reader made of the events commits with it.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import EventPosition, after, settled
from app.models.events import Event

MARK_ROW = 1


class MarkRow(Protocol):
    last_xid: int
    last_seq: int

    def __init__(self, *, id: int, last_xid: int, last_seq: int) -> None: ...


Mark = TypeVar("Mark", bound=MarkRow)


async def lock_mark(session: AsyncSession, model: type[Mark]) -> Mark:
    """The reader's mark row, locked until the transaction ends (made at the start of the
    stream on first use; a reader racing to make it too takes the other's)."""
    mark = await session.get(model, MARK_ROW, with_for_update=True)
    if mark is None:
        try:
            async with session.begin_nested():
                session.add(model(id=MARK_ROW, last_xid=0, last_seq=0))
        except IntegrityError:
            pass  # another worker made it meanwhile
        mark = await session.get(model, MARK_ROW, with_for_update=True, populate_existing=True)
    assert mark is not None
    return mark


async def events_past(session: AsyncSession, mark: MarkRow, limit: int) -> list[Event]:
    """Up to `limit` settled events past the mark, in the order readers walk them."""
    position = EventPosition(mark.last_xid, mark.last_seq)
    statement = (
        select(Event)
        .where(after(position), settled(session))
        .order_by(Event.xid, Event.seq)
        .limit(limit)
    )
    return list(await session.scalars(statement))


def move_mark(mark: MarkRow, taken: list[Event]) -> None:
    if taken:
        mark.last_xid, mark.last_seq = EventPosition.of(taken[-1])
