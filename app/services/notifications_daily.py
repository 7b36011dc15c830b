"""Daily reminders, found by a per-minute job: for each person in an active couple with a
device, whether their chosen local time (`daily_prompt_time`, in the couple's time zone) has
come (see `notifications_time.reminder_due`). Then "today's prompt is ready" unless they
answered today's prompt already, and "a repair step is due" when a step they own (or share)
in an active plan is due that local day. Keys carry the local date, so a person gets each
reminder once per local day, whatever the clocks do.

Outside production (`clocks=True`), a couple attached to a test clock is reminded at the
clock's time: the rules (the local day, quiet hours, the weekly cap) read the clock, and the
push is sent on the real time.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.answers import Answer, DailyPrompt
from app.models.couples import Couple, CoupleMember, CoupleStatus
from app.models.push import Device, NotificationKind, NotificationSettings
from app.models.repair import PlanStatus, RepairPlan, RepairStep, StepOwner, StepStatus
from app.models.test_clocks import TestClock, TestClockCouple
from app.services.notification_settings import DEFAULT_DAILY_PROMPT_TIME
from app.services.notifications import Moment, already_decided, queue
from app.services.notifications_time import reminder_due


async def queue_daily_reminders(
    session: AsyncSession, now: datetime, *, clocks: bool = False
) -> int:
    """Queue the reminders due at `now`; the number of deliveries recorded."""
    frozen = TestClock.frozen_time if clocks else null()
    query = (
        select(
            CoupleMember.active_user_id,
            Couple.id,
            Couple.timezone,
            NotificationSettings.daily_prompt_time,
            frozen,
        )
        .join(Couple, Couple.id == CoupleMember.couple_id)
        .outerjoin(
            NotificationSettings,
            NotificationSettings.user_id == CoupleMember.active_user_id,
        )
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
    for user_id, couple_id, timezone, chosen, clock_time in (await session.execute(query)).all():
        if user_id is None:
            continue
        moment = Moment(rules=clock_time or now, real=now)
        at = chosen or DEFAULT_DAILY_PROMPT_TIME
        day = reminder_due(moment.rules, at, ZoneInfo(timezone))
        if day is None:
            continue
        recorded += await _daily_prompt(session, user_id, couple_id, day, moment)
        recorded += await _repair_step(session, user_id, couple_id, day, moment)
    return recorded


async def _daily_prompt(
    session: AsyncSession, user_id: uuid.UUID, couple_id: uuid.UUID, day: date, moment: Moment
) -> int:
    key = f"daily_prompt:{day.isoformat()}"
    if await already_decided(session, user_id, key):
        return 0
    answered = await session.scalar(
        select(Answer.id)
        .join(DailyPrompt, DailyPrompt.id == Answer.daily_prompt_id)
        .where(
            DailyPrompt.couple_id == couple_id,
            DailyPrompt.local_date == day,
            Answer.user_id == user_id,
        )
        .limit(1)
    )
    if answered is not None:
        return 0
    data = {"couple_id": str(couple_id), "local_date": day.isoformat()}
    return await queue(session, user_id, NotificationKind.daily_prompt, key, data, moment)


async def _repair_step(
    session: AsyncSession, user_id: uuid.UUID, couple_id: uuid.UUID, day: date, moment: Moment
) -> int:
    key = f"repair_step_due:{day.isoformat()}"
    if await already_decided(session, user_id, key):
        return 0
    step = (
        await session.execute(
            select(RepairStep.id, RepairPlan.id)
            .join(RepairPlan, RepairPlan.id == RepairStep.plan_id)
            .where(
                RepairPlan.couple_id == couple_id,
                RepairPlan.status == PlanStatus.active,
                RepairStep.status == StepStatus.open,
                RepairStep.due_date == day,
                or_(
                    RepairStep.owner == StepOwner.both,
                    (RepairStep.owner == StepOwner.hurt) & (RepairPlan.hurt_user_id == user_id),
                    (RepairStep.owner == StepOwner.involved)
                    & (RepairPlan.involved_user_id == user_id),
                ),
            )
            .order_by(RepairStep.position, RepairStep.id)
            .limit(1)
        )
    ).first()
    if step is None:
        return 0
    data = {"plan_id": str(step[1]), "step_id": str(step[0])}
    return await queue(session, user_id, NotificationKind.repair_step_due, key, data, moment)
