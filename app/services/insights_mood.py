"""Mood figures of the insights (docs/insights.md): weekly averages per partner, and the
low shared mood that suggests professional support. Only what a partner shared counts,
and the caller's private check-ins only where `private_author` names them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.checkins import CheckIn, Visibility
from app.models.couples import Couple

LOW_MOOD_AVERAGE = 2.0
LOW_MOOD_MIN_SPAN_DAYS = 14
LOW_MOOD_MIN_CHECKINS = 4


@dataclass
class MoodWeek:
    week_start: date
    total: int
    count: int

    @property
    def average(self) -> float:
        return round(self.total / self.count, 2)


async def weekly_moods(
    session: AsyncSession,
    couple: Couple,
    private_author: uuid.UUID | None,
    members: list[uuid.UUID],
    first: date,
    last: date,
) -> dict[uuid.UUID, list[MoodWeek]]:
    """Weekly moods of what each partner shared, and of everything `private_author` wrote."""
    counted = and_(CheckIn.couple_id == couple.id, CheckIn.visibility == Visibility.partner)
    if private_author is not None:
        counted = or_(CheckIn.user_id == private_author, counted)
    rows = await session.execute(
        select(CheckIn.user_id, CheckIn.local_date, func.sum(CheckIn.mood), func.count())
        .where(
            CheckIn.user_id.in_(members),
            CheckIn.local_date.between(first, last),
            counted,
        )
        .group_by(CheckIn.user_id, CheckIn.local_date)
    )
    weeks: dict[uuid.UUID, dict[date, MoodWeek]] = {m: {} for m in members}
    for user_id, day, total, count in rows:
        week_start = day - timedelta(days=day.weekday())
        week = weeks[user_id].setdefault(week_start, MoodWeek(week_start, 0, 0))
        week.total += int(total)
        week.count += count
    return {m: sorted(w.values(), key=lambda w: w.week_start) for m, w in weeks.items()}


async def low_shared_mood(
    session: AsyncSession, couple: Couple, members: list[uuid.UUID], last: date
) -> bool:
    """A partner's shared check-ins over the last 14+ days average 2 or less."""
    first = last - timedelta(days=LOW_MOOD_MIN_SPAN_DAYS * 2 - 1)
    rows = await session.execute(
        select(
            CheckIn.user_id,
            func.avg(CheckIn.mood),
            func.count(),
            func.min(CheckIn.local_date),
            func.max(CheckIn.local_date),
        )
        .where(
            CheckIn.couple_id == couple.id,
            CheckIn.visibility == Visibility.partner,
            CheckIn.local_date.between(first, last),
        )
        .group_by(CheckIn.user_id)
    )
    for _user, average, count, earliest, latest in rows:
        span = (_as_date(latest) - _as_date(earliest)).days + 1
        if (
            count >= LOW_MOOD_MIN_CHECKINS
            and span >= LOW_MOOD_MIN_SPAN_DAYS
            and float(average) <= LOW_MOOD_AVERAGE
        ):
            return True
    return False


def _as_date(value: date | str) -> date:
    # min()/max() of a DATE column come back as text on SQLite.
    return value if isinstance(value, date) else date.fromisoformat(value)
