"""Test clocks, after Stripe's: a frozen instant that attached couples live at.

Only in the `development` and `test` environments (the router is not even mounted in
production). A clock belongs to the person who made it, through a first-party app (Rapport's
own apps): a third-party app, the docs client included, cannot change time for anyone. Its
owner attaches a couple they belong to; from then on every rule that reads "now" for that
couple's members (the daily prompt, reveal windows, streaks and insights, the support
suggestion, repair-plan timing) reads the clock's frozen time, and advancing the clock moves
them all forward at once. A person who is not the owner sees no clock (404), and cannot
attach a couple they are not in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.couples import CoupleMember
from app.models.test_clocks import TestClock, TestClockCouple
from app.services.clients import is_first_party
from app.services.erasure import FirstPartyOnly


class TestClockNotFound(NotFound):
    __test__ = False
    slug = "test-clock-not-found"
    title = "Test clock not found"


class TestClockInUse(Conflict):
    __test__ = False
    slug = "test-clock-couple-attached"
    title = "The couple is already attached to a test clock"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise UnprocessableContent("Give the time with a UTC offset, e.g. 2027-01-01T09:00:00Z.")
    return moment.astimezone(UTC)


async def _require_first_party(session: AsyncSession, me: Member) -> None:
    if not await is_first_party(session, me.client_id):
        raise FirstPartyOnly(
            "Test clocks change the time every rule reads for a couple: only Rapport's own "
            "apps can use them."
        )


async def create_clock(
    session: AsyncSession, me: Member, frozen_time: datetime, name: str | None
) -> TestClock:
    await _require_first_party(session, me)
    clock = TestClock(owner_id=me.user_id, frozen_time=_aware(frozen_time), name=name)
    session.add(clock)
    await session.flush()
    return clock


async def get_clock(session: AsyncSession, me: Member, clock_id: uuid.UUID) -> TestClock:
    await _require_first_party(session, me)
    clock = await session.scalar(
        select(TestClock).where(TestClock.id == clock_id, TestClock.owner_id == me.user_id)
    )
    if clock is None:
        raise TestClockNotFound("You have no test clock with this id.")
    return clock


async def attached_couples(session: AsyncSession, clock_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(TestClockCouple.couple_id)
        .where(TestClockCouple.clock_id == clock_id)
        .order_by(TestClockCouple.attached_at, TestClockCouple.couple_id)
    )
    return list(rows)


async def advance_clock(
    session: AsyncSession, me: Member, clock_id: uuid.UUID, frozen_time: datetime
) -> TestClock:
    clock = await get_clock(session, me, clock_id)
    target = _aware(frozen_time)
    if target <= clock.frozen_time:
        raise UnprocessableContent(
            "A test clock only moves forward: give a time later than its frozen_time "
            f"({clock.frozen_time.isoformat()})."
        )
    clock.frozen_time = target
    await session.flush()
    return clock


async def delete_clock(session: AsyncSession, me: Member, clock_id: uuid.UUID) -> None:
    """Delete the clock; its couples go back to the real time."""
    clock = await get_clock(session, me, clock_id)
    await session.execute(delete(TestClockCouple).where(TestClockCouple.clock_id == clock.id))
    await session.delete(clock)
    await session.flush()


async def attach_couple(
    session: AsyncSession, me: Member, clock_id: uuid.UUID, couple_id: uuid.UUID
) -> TestClock:
    clock = await get_clock(session, me, clock_id)
    membership = await session.scalar(
        select(CoupleMember).where(
            CoupleMember.couple_id == couple_id, CoupleMember.active_user_id == me.user_id
        )
    )
    if membership is None:
        raise NotFound("You are in no active couple with this id.")
    existing = await session.get(TestClockCouple, couple_id)
    if existing is not None:
        if existing.clock_id == clock.id:
            return clock
        raise TestClockInUse("Detach it (delete its test clock) before attaching it to another.")
    session.add(TestClockCouple(couple_id=couple_id, clock_id=clock.id))
    await session.flush()
    return clock


async def detach_couple(
    session: AsyncSession, me: Member, clock_id: uuid.UUID, couple_id: uuid.UUID
) -> None:
    clock = await get_clock(session, me, clock_id)
    result = await session.execute(
        delete(TestClockCouple).where(
            TestClockCouple.clock_id == clock.id, TestClockCouple.couple_id == couple_id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("This couple is not attached to this test clock.")


async def time_for_person(session: AsyncSession, user_id: uuid.UUID) -> datetime | None:
    """The frozen time of the clock the person's active couple is attached to, if any."""
    frozen: datetime | None = await session.scalar(
        select(TestClock.frozen_time)
        .join(TestClockCouple, TestClockCouple.clock_id == TestClock.id)
        .join(CoupleMember, CoupleMember.couple_id == TestClockCouple.couple_id)
        .where(CoupleMember.active_user_id == user_id)
    )
    return frozen


async def any_attached(session: AsyncSession) -> bool:
    return (await session.scalar(select(TestClockCouple.couple_id).limit(1))) is not None
