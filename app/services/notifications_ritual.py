"""The weekly ritual's reminder: "your weekly check-in is due", to each partner of a couple
with a schedule and a device, when the scheduled weekday's local time comes in the couple's
time zone (`ritual_rules.due_on`; daylight-saving changes as `notifications_time` says).

Found by the same per-minute job as the daily reminders (`app.jobs.push.daily_reminders`).
Keyed by the scheduled local date (`weekly_ritual:<date>`), so a partner gets it once per
week, whatever the restarts. Not sent when that week's ritual is already over (completed or
ended), to a partner who turned `weekly_ritual` off, or in their quiet hours (an appointment:
`notifications.APPOINTMENTS`). Outside production (`clocks=True`), a couple attached to a
test clock is reminded at the clock's time, as the daily reminders are.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import null, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.couples import Couple, CoupleMember, CoupleStatus
from app.models.push import Device, NotificationKind
from app.models.rituals import Ritual, RitualSchedule, RitualStatus
from app.models.test_clocks import TestClock, TestClockCouple
from app.services.notifications import Moment, already_decided, queue
from app.services.ritual_rules import due_on


async def queue_ritual_reminders(
    session: AsyncSession, now: datetime, *, clocks: bool = False
) -> int:
    """Queue the weekly ritual reminders due at `now`; the number of deliveries recorded."""
    frozen = TestClock.frozen_time if clocks else null()
    query = (
        select(
            CoupleMember.active_user_id,
            Couple.id,
            Couple.timezone,
            RitualSchedule.weekday,
            RitualSchedule.local_time,
            frozen,
        )
        .join(Couple, Couple.id == CoupleMember.couple_id)
        .join(RitualSchedule, RitualSchedule.couple_id == Couple.id)
        .where(
            Couple.status == CoupleStatus.active,
            CoupleMember.active_user_id.in_(select(Device.user_id)),
        )
    )
    if clocks:
        query = query.outerjoin(TestClockCouple, TestClockCouple.couple_id == Couple.id).outerjoin(
            TestClock, TestClock.id == TestClockCouple.clock_id
        )
    recorded = 0
    for user_id, couple_id, timezone, weekday, at, clock_time in (
        await session.execute(query)
    ).all():
        if user_id is None:
            continue
        moment = Moment(rules=clock_time or now, real=now)
        day = due_on(moment.rules, weekday, at, ZoneInfo(timezone))
        if day is None:
            continue
        key = f"weekly_ritual:{day.isoformat()}"
        if await already_decided(session, user_id, key):
            continue
        over = await session.scalar(
            select(Ritual.id).where(
                Ritual.couple_id == couple_id,
                Ritual.week_of == day,
                Ritual.status != RitualStatus.open,
            )
        )
        if over is not None:
            continue
        data = {"couple_id": str(couple_id), "week_of": day.isoformat()}
        recorded += await queue(session, user_id, NotificationKind.weekly_ritual, key, data, moment)
    return recorded
