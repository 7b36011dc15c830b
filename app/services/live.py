"""Live updates: a person's sync feed, followed as it grows.

A stream holds no database session between reads. It reads the feed after its cursor through
the feed's own service (`read`, one short-lived session each time), hands on what is new, then
waits for a wake-up naming its person or one of their couples (`app.core.live_broker`), or for
the heartbeat interval, whichever comes first, and reads again: a wake lost on the way, or an
event whose transaction settled after the wake (the feed serves only settled events, see
`app.core.events`), is read on the next heartbeat at the latest. Nothing is skipped or sent
twice, because every read starts exactly after the position of the last event read.

While it waits, a stream asks `alive()` every `check_every` seconds (an in-memory check of the
access token: expired or revoked ends the stream), so a revoked token or a disconnected app
stops it at once rather than at the next heartbeat.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import START, EventPosition, settled
from app.core.live_broker import Watch
from app.core.problems import ProblemError
from app.models.couples import CoupleMember
from app.models.events import Event

CHECK_EVERY_SECONDS = 0.5


class TooManyStreams(ProblemError):
    status = 429
    slug = "too-many-live-streams"
    title = "Too many live streams open"


@dataclass(frozen=True, slots=True)
class Item:
    """One feed item to send, and the position of its event (the cursor after it)."""

    data: Any
    position: EventPosition


@dataclass(frozen=True, slots=True)
class Advance:
    """The feed was read past events this caller may not see: the cursor moves, nothing is
    sent but the new position."""

    position: EventPosition


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pass


Sent = Item | Advance | Heartbeat


@dataclass
class Step:
    """One read of the feed after a position."""

    items: list[Item]
    last: EventPosition
    """The position of the last event scanned, sent or not."""
    has_more: bool
    couple_ids: list[uuid.UUID] = field(default_factory=list)
    """The couples the person is or was in, whose wake-ups concern them."""


async def head(session: AsyncSession) -> EventPosition:
    """The position of the newest settled event: a stream without a cursor starts there."""
    row = (
        await session.execute(
            select(Event.xid, Event.seq)
            .where(settled(session))
            .order_by(Event.xid.desc(), Event.seq.desc())
            .limit(1)
        )
    ).first()
    return EventPosition(row[0], row[1]) if row is not None else START


async def couples_of(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Every couple the person is or was a member of."""
    rows = await session.scalars(
        select(CoupleMember.couple_id).where(CoupleMember.user_id == user_id)
    )
    return list(rows)


class StreamSlots:
    """How many streams each person holds open in this process, within a cap."""

    def __init__(self) -> None:
        self._open: Counter[uuid.UUID] = Counter()

    def count(self, user_id: uuid.UUID) -> int:
        return self._open[user_id]

    @contextmanager
    def hold(self, user_id: uuid.UUID, cap: int) -> Any:
        if self._open[user_id] >= cap:
            raise TooManyStreams(
                f"You have {cap} live streams open already; close one first.",
                headers={"Retry-After": "5"},
            )
        self._open[user_id] += 1
        try:
            yield
        finally:
            self._open[user_id] -= 1
            if self._open[user_id] <= 0:
                del self._open[user_id]


async def follow(
    read: Callable[[EventPosition], Awaitable[Step]],
    *,
    start: EventPosition,
    user_id: uuid.UUID,
    watch: Watch,
    alive: Callable[[], bool],
    heartbeat_seconds: float,
    check_every: float = CHECK_EVERY_SECONDS,
) -> AsyncIterator[Sent]:
    """The feed after `start`, as it grows, until `alive()` turns false (or the caller stops
    iterating: the client went away)."""
    position = start
    while alive():
        watch.woken.clear()  # a wake during the read below makes the wait return at once
        step = await read(position)
        watch.follow(user_id, step.couple_ids)
        if not alive():  # revoked while reading: send nothing more
            return
        for item in step.items:
            yield item
        if step.last != position and (not step.items or step.items[-1].position != step.last):
            yield Advance(step.last)
        position = step.last
        if step.has_more:
            continue
        woken = await _wait(watch, alive, heartbeat_seconds, check_every)
        if woken is None:
            return
        if not woken:
            yield Heartbeat()


async def _wait(
    watch: Watch, alive: Callable[[], bool], heartbeat_seconds: float, check_every: float
) -> bool | None:
    """True when woken, False when the heartbeat is due, None when the stream must end."""
    deadline = time.monotonic() + heartbeat_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(watch.woken.wait(), min(remaining, check_every))
            return True
        except TimeoutError:
            if not alive():
                return None
