"""Trust ratings: how safe and trusting each partner feels (0 to 10), over time.

Each partner sees both partners' scores; a note is read by its author, and by the partner
only once its author shares it. Weeks are ISO weeks (Monday to Sunday) in the couple's
time zone; a week's median is the median of the partner's scores recorded that week (the
mean of the two middle scores when there is an even number).

What a caller reads is decided here: `RatingView.note` already holds only what this caller
may see. The trend (rising, flat, falling) of each partner is read by the couple alongside
their ratings; `docs/insights.md` states the method.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import NotFound
from app.core.security import Member
from app.models.couples import Couple, CoupleMember
from app.models.repair import PlanStatus, TrustRating
from app.schemas.repair_trust import TrustRatingIn
from app.services.repair_access import READ, WRITE, Caller, open_plan, record_event, require_status

TREND_WEEKS = 6
TREND_MIN_WEEKS = 3
TREND_THRESHOLD = 1.0

Trend = Literal["rising", "flat", "falling", "insufficient"]


class RatingNotFound(NotFound):
    slug = "trust-rating-not-found"
    title = "You have no trust rating with this id in this plan"


@dataclass(frozen=True, slots=True)
class WeeklyMedian:
    week_start: date
    median: float
    count: int


@dataclass(frozen=True, slots=True)
class RatingView:
    """A rating as one caller may read it: `note` is None unless they may read it."""

    id: uuid.UUID
    user_id: uuid.UUID
    score: int
    note: str | None
    note_shared: bool
    recorded_at: datetime
    local_date: date


@dataclass(frozen=True, slots=True)
class TrendView:
    direction: Trend
    change: float | None
    weeks_with_ratings: int
    window_start: date
    window_end: date


@dataclass
class PartnerSeries:
    user_id: uuid.UUID
    ratings: list[RatingView]
    weekly_medians: list[WeeklyMedian]
    trend: TrendView


@dataclass
class TrustSeries:
    plan_id: uuid.UUID
    timezone: str
    partners: list[PartnerSeries]


class PartnerTrend(TypedDict):
    trend: Trend
    flat_or_falling: bool
    change: float | None
    weekly_medians: list[tuple[date, float]]


class TrustTrend(TypedDict):
    window_start: date
    window_end: date
    partners: dict[uuid.UUID, PartnerTrend]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_medians(ratings: Iterable[TrustRating]) -> list[WeeklyMedian]:
    """The median score of each week that has ratings, oldest week first."""
    weeks: dict[date, list[int]] = {}
    for rating in ratings:
        weeks.setdefault(week_start(rating.local_date), []).append(rating.score)
    return [
        WeeklyMedian(week, float(statistics.median(scores)), len(scores))
        for week, scores in sorted(weeks.items())
    ]


def _visible_note(rating: TrustRating, caller: Caller) -> str | None:
    """The note as this caller may read it: the author through a first-party app; anyone
    of the couple once shared."""
    if rating.note_shared or (rating.user_id == caller.user_id and caller.first_party):
        return rating.note
    return None


def _rating_view(rating: TrustRating, caller: Caller) -> RatingView:
    return RatingView(
        id=rating.id,
        user_id=rating.user_id,
        score=rating.score,
        note=_visible_note(rating, caller),
        note_shared=rating.note_shared,
        recorded_at=rating.recorded_at,
        local_date=rating.local_date,
    )


async def record_rating(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, data: TrustRatingIn, now: datetime
) -> RatingView:
    caller, plan = await open_plan(session, me, plan_id, WRITE)
    require_status(plan, PlanStatus.active, PlanStatus.paused)
    rating = TrustRating(
        plan_id=plan.id,
        couple_id=plan.couple_id,
        user_id=caller.user_id,
        score=data.score,
        note=data.note,
        note_shared=data.share_note and data.note is not None,
        recorded_at=now,
        local_date=now.astimezone(ZoneInfo(caller.couple.timezone)).date(),
    )
    session.add(rating)
    await session.flush()
    await record_event(
        session, "trust_rating.recorded", caller, plan_id=plan.id, trust_rating_id=rating.id
    )
    return _rating_view(rating, caller)


async def share_note(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, rating_id: uuid.UUID, share: bool
) -> RatingView:
    """Share or unshare the note of one's own rating; another's rating is not found."""
    caller, plan = await open_plan(session, me, plan_id, WRITE)
    rating = await session.scalar(
        select(TrustRating).where(
            TrustRating.id == rating_id,
            TrustRating.plan_id == plan.id,
            TrustRating.user_id == caller.user_id,
        )
    )
    if rating is None:
        raise RatingNotFound("You have no trust rating with this id in this plan.")
    wanted = share and rating.note is not None
    if rating.note_shared != wanted:
        rating.note_shared = wanted
        await session.flush()
    return _rating_view(rating, caller)


async def plan_series(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, now: datetime
) -> TrustSeries:
    """Both partners' ratings in this plan, their weekly medians and their trend, the
    caller first. The trend's window ends with the week of `now`, or of the plan's end."""
    caller, plan = await open_plan(session, me, plan_id, READ)
    partners = [caller.user_id] + ([caller.partner_id] if caller.partner_id else [])
    ratings: dict[uuid.UUID, list[TrustRating]] = {user_id: [] for user_id in partners}
    for rating in await session.scalars(
        select(TrustRating)
        .where(TrustRating.plan_id == plan.id)
        .order_by(TrustRating.recorded_at, TrustRating.id)
    ):
        ratings.setdefault(rating.user_id, []).append(rating)
    zone = ZoneInfo(caller.couple.timezone)
    window_start, window_end = _window(zone, plan.ended_at or now)
    series = []
    for user_id, theirs in ratings.items():
        in_window = [r for r in theirs if window_start <= r.local_date <= window_end]
        medians = weekly_medians(in_window)
        direction, change = classify(medians, window_start)
        series.append(
            PartnerSeries(
                user_id=user_id,
                ratings=[_rating_view(rating, caller) for rating in theirs],
                weekly_medians=weekly_medians(theirs),
                trend=TrendView(direction, change, len(medians), window_start, window_end),
            )
        )
    return TrustSeries(plan_id=plan.id, timezone=caller.couple.timezone, partners=series)


def _window(zone: ZoneInfo, moment: datetime) -> tuple[date, date]:
    """The trend window: the `TREND_WEEKS` ISO weeks ending with the week of `moment`."""
    window_end = week_start(moment.astimezone(zone).date()) + timedelta(days=6)
    return window_end - timedelta(days=7 * TREND_WEEKS - 1), window_end


def _fitted_change(points: list[tuple[int, float]]) -> float:
    """The least-squares line's rise from the first to the last week with ratings."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return slope * (xs[-1] - xs[0])


def classify(medians: list[WeeklyMedian], first_week: date) -> tuple[Trend, float | None]:
    if len(medians) < TREND_MIN_WEEKS:
        return "insufficient", None
    points = [((m.week_start - first_week).days // 7, m.median) for m in medians]
    change = round(_fitted_change(points), 2)
    if change <= -TREND_THRESHOLD:
        return "falling", change
    if change >= TREND_THRESHOLD:
        return "rising", change
    return "flat", change


async def trust_trend(session: AsyncSession, couple_id: uuid.UUID, now: datetime) -> TrustTrend:
    """Whether each partner's trust has been flat or falling over the last 6 weeks.

    The rule, exactly:
    - The window is the 6 ISO weeks (Monday to Sunday, in the couple's time zone) ending with
      the week that contains `now`; ratings from every plan of the couple count.
    - For each partner, take the median score of each week of the window that has ratings.
    - Fewer than 3 such weeks: `insufficient` (too little to say; `flat_or_falling` False).
    - Otherwise fit a least-squares line through (week index 0 to 5, weekly median) and take
      its change from the first to the last week with ratings, rounded to 2 decimals:
      `falling` when it is -1.0 point or less, `rising` when +1.0 or more, else `flat`.
    - `flat_or_falling` is True for `flat` and `falling`: the signal the insights use to
      suggest a couples therapist.

    Returns `{"window_start", "window_end", "partners": {user_id: {"trend",
    "flat_or_falling", "change", "weekly_medians": [(week_start, median), ...]}}}`, with
    every current partner of the couple present.
    """
    couple = await session.get_one(Couple, couple_id)
    window_start, window_end = _window(ZoneInfo(couple.timezone), now)
    members = list(
        await session.scalars(
            select(CoupleMember.user_id)
            .where(CoupleMember.couple_id == couple_id)
            .order_by(CoupleMember.joined_at)
        )
    )
    ratings: dict[uuid.UUID, list[TrustRating]] = {member: [] for member in members}
    for rating in await session.scalars(
        select(TrustRating).where(
            TrustRating.couple_id == couple_id,
            TrustRating.local_date >= window_start,
            TrustRating.local_date <= window_end,
        )
    ):
        ratings.setdefault(rating.user_id, []).append(rating)
    partners: dict[uuid.UUID, PartnerTrend] = {}
    for user_id, theirs in ratings.items():
        medians = weekly_medians(theirs)
        trend, change = classify(medians, window_start)
        partners[user_id] = PartnerTrend(
            trend=trend,
            flat_or_falling=trend in ("flat", "falling"),
            change=change,
            weekly_medians=[(m.week_start, m.median) for m in medians],
        )
    return TrustTrend(window_start=window_start, window_end=window_end, partners=partners)
