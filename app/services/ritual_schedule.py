"""A couple's weekly ritual schedule: a weekday and a local time in the couple's time zone,
set, read or removed by either partner.

Who reaches it: as a conversation (`app.services.conversations`), since the ritual is a
guided conversation of the couple: the two current members, through a first-party app, or a
third-party one only while BOTH partners consent to it with `conversations:read` (and
`conversations:write` to change it). Anybody else finds nothing (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import NotFound
from app.core.security import Member, Scope
from app.models.rituals import RitualSchedule
from app.schemas.rituals import ScheduleIn
from app.services.repair_access import Caller, record_event, resolve_caller
from app.services.ritual_rules import next_due, week_of

READ: frozenset[str] = frozenset({Scope.conversations_read.value})
WRITE: frozenset[str] = READ | {Scope.conversations_write.value}


class RitualsHidden(NotFound):
    slug = "rituals-not-found"
    title = "No weekly rituals are visible here"


class ScheduleNotFound(NotFound):
    slug = "ritual-schedule-not-found"
    title = "The couple has no weekly ritual scheduled"


@dataclass
class ScheduleView:
    schedule: RitualSchedule
    timezone: str
    next_due_at: datetime
    week_of: date


async def ritual_caller(session: AsyncSession, me: Member, needed: frozenset[str]) -> Caller:
    hidden = RitualsHidden(
        "This app can see a couple's weekly ritual only once both partners have allowed it "
        "`conversations:read`."
    )
    return await resolve_caller(session, me, needed, hidden=hidden)


def view_of(schedule: RitualSchedule, timezone: str, now: datetime) -> ScheduleView:
    zone = ZoneInfo(timezone)
    return ScheduleView(
        schedule=schedule,
        timezone=timezone,
        next_due_at=next_due(now, schedule.weekday, schedule.local_time, zone),
        week_of=week_of(now, schedule.weekday, zone),
    )


async def require_schedule(session: AsyncSession, caller: Caller) -> RitualSchedule:
    schedule = await session.get(RitualSchedule, caller.couple.id)
    if schedule is None:
        raise ScheduleNotFound("Schedule your weekly ritual first: a weekday and a local time.")
    return schedule


async def get_schedule(session: AsyncSession, me: Member, now: datetime) -> ScheduleView:
    caller = await ritual_caller(session, me, READ)
    schedule = await require_schedule(session, caller)
    return view_of(schedule, caller.couple.timezone, now)


async def put_schedule(
    session: AsyncSession, me: Member, data: ScheduleIn, now: datetime
) -> tuple[ScheduleView, bool]:
    """Set the schedule; whether it was new."""
    caller = await ritual_caller(session, me, WRITE)
    at = time.fromisoformat(data.local_time)
    schedule = await session.get(RitualSchedule, caller.couple.id, with_for_update=True)
    created = schedule is None
    if schedule is None:
        schedule = RitualSchedule(couple_id=caller.couple.id, created_at=now)
        session.add(schedule)
    schedule.weekday, schedule.local_time = data.weekday, at
    schedule.set_by = caller.user_id
    schedule.updated_at = now
    await session.flush()
    await record_event(session, "ritual.scheduled", caller)
    return view_of(schedule, caller.couple.timezone, now), created


async def delete_schedule(session: AsyncSession, me: Member) -> None:
    """No more reminders; the rituals held stay, and no new one can start."""
    caller = await ritual_caller(session, me, WRITE)
    schedule = await require_schedule(session, caller)
    await session.delete(schedule)
    await session.flush()
    await record_event(session, "ritual.unscheduled", caller)
