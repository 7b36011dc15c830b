"""Figures about a couple's connection, each defined in docs/insights.md.

Every figure is an SQL aggregate over the window, or a fold over at most one row per day
and partner, so the cost follows the window's length, not the size of the tables.
Privacy: a partner's figures use only what they shared; the caller's own mood figure also
counts their private check-ins, which nobody else's figures ever do, and only through
Rapport's own apps: a third-party app's figures are made of shared things alone (a figure
derived from private writing would be a read of it that the access log never shows).
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Member
from app.models.activities import ActivityMatch
from app.models.answers import Answer, DailyPrompt, Reflection
from app.models.checkins import CheckIn, Visibility
from app.models.couples import Couple, CoupleMember
from app.models.prompts import Category, PromptVersion
from app.services.clients import is_first_party
from app.services.couples import require_couple
from app.services.daily import local_date
from app.services.insights_mood import MoodWeek, low_shared_mood, weekly_moods
from app.services.repair_trust import trust_trend

BALANCE_THRESHOLD = 0.6
BALANCE_MIN_SHARES = 6
HEAVY_MIN_DEEP_DAYS = 3
HEAVY_DEEP_SHARE = 0.4
PLAY_LOOKBACK_DAYS = 14
STREAK_CHUNK = 400


@dataclass
class PartnerSharing:
    user_id: uuid.UUID
    revealed_answers: int = 0
    shared_checkins: int = 0
    reflections_given: int = 0

    @property
    def total(self) -> int:
        return self.revealed_answers + self.shared_checkins + self.reflections_given


@dataclass
class Responsiveness:
    responder_id: uuid.UUID
    shares_received: int = 0
    responded: int = 0
    delays_seconds: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.responded / self.shares_received if self.shares_received else None

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.delays_seconds) if self.delays_seconds else None


@dataclass
class Insights:
    viewer: uuid.UUID
    window_days: int
    from_date: date
    to_date: date
    sharing: list[PartnerSharing]
    balance_index: float | None
    one_sided: bool
    by_category: dict[Category, int]
    by_depth: dict[int, int]
    play_in_lookback: bool
    too_heavy: bool
    responsiveness: list[Responsiveness]
    streak_days: int
    today_open: bool
    mood: dict[uuid.UUID, list[MoodWeek]]
    support_reasons: list[str]
    private_counted: bool = False
    """Whether the viewer's own mood figure counts their private check-ins."""
    balance_threshold: float = BALANCE_THRESHOLD
    activities_done: int = 0
    """Activities of Time together both partners said how they went, planned in the window:
    light moments beside the revealed days."""

    @property
    def revealed_days(self) -> int:
        return sum(self.by_depth.values())

    @property
    def moments(self) -> int:
        """Revealed days and done activities: what the light/deep balance is taken over."""
        return self.revealed_days + self.activities_done

    @property
    def light_moments(self) -> int:
        return self.by_depth.get(1, 0) + self.activities_done

    @property
    def deep_share(self) -> float | None:
        return self.by_depth.get(3, 0) / self.moments if self.moments else None


def balance_index(a: int, b: int) -> float | None:
    """1 when both partners share equally, 0 when only one does; None with no sharing."""
    return None if a + b == 0 else round(1 - abs(a - b) / (a + b), 3)


def _window_start(couple: Couple, first_day: date) -> datetime:
    return datetime.combine(first_day, time.min, tzinfo=ZoneInfo(couple.timezone))


async def _members(session: AsyncSession, couple_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(CoupleMember.user_id)
        .where(CoupleMember.couple_id == couple_id)
        .order_by(CoupleMember.joined_at)
    )
    return list(rows)


async def _sharing(
    session: AsyncSession, couple: Couple, members: list[uuid.UUID], first: date, last: date
) -> list[PartnerSharing]:
    figures = {m: PartnerSharing(m) for m in members}
    answers = await session.execute(
        select(Answer.user_id, func.count())
        .join(DailyPrompt, DailyPrompt.id == Answer.daily_prompt_id)
        .where(
            Answer.couple_id == couple.id,
            Answer.revealed_at.is_not(None),
            DailyPrompt.local_date.between(first, last),
        )
        .group_by(Answer.user_id)
    )
    for user_id, count in answers:
        if user_id in figures:
            figures[user_id].revealed_answers = count
    checkins = await session.execute(
        select(CheckIn.user_id, func.count())
        .where(
            CheckIn.couple_id == couple.id,
            CheckIn.visibility == Visibility.partner,
            CheckIn.local_date.between(first, last),
        )
        .group_by(CheckIn.user_id)
    )
    for user_id, count in checkins:
        if user_id in figures:
            figures[user_id].shared_checkins = count
    reflections = await session.execute(
        select(Reflection.author_id, func.count())
        .where(
            Reflection.couple_id == couple.id,
            Reflection.created_at >= _window_start(couple, first),
        )
        .group_by(Reflection.author_id)
    )
    for user_id, count in reflections:
        if user_id in figures:
            figures[user_id].reflections_given = count
    return list(figures.values())


async def _light_and_deep(
    session: AsyncSession, couple: Couple, first: date, last: date
) -> tuple[dict[Category, int], dict[int, int], bool]:
    rows = await session.execute(
        select(PromptVersion.category, PromptVersion.depth, func.count())
        .join(DailyPrompt, DailyPrompt.prompt_version_id == PromptVersion.id)
        .where(
            DailyPrompt.couple_id == couple.id,
            DailyPrompt.revealed_at.is_not(None),
            DailyPrompt.local_date.between(first, last),
        )
        .group_by(PromptVersion.category, PromptVersion.depth)
    )
    by_category = dict.fromkeys(Category, 0)
    by_depth = {1: 0, 2: 0, 3: 0}
    for category, depth, count in rows:
        by_category[category] += count
        by_depth[depth] += count
    recent_play = await session.scalar(
        select(func.count())
        .select_from(DailyPrompt)
        .join(PromptVersion, PromptVersion.id == DailyPrompt.prompt_version_id)
        .where(
            DailyPrompt.couple_id == couple.id,
            DailyPrompt.revealed_at.is_not(None),
            DailyPrompt.local_date.between(last - timedelta(days=PLAY_LOOKBACK_DAYS - 1), last),
            PromptVersion.category == Category.play,
        )
    )
    return by_category, by_depth, bool(recent_play)


async def _activities_done(
    session: AsyncSession, couple: Couple, first: date, last: date
) -> tuple[int, bool]:
    """Done activities planned in the window, and whether one was in the last 14 days."""
    recent_from = last - timedelta(days=PLAY_LOOKBACK_DAYS - 1)
    done, recent = (
        await session.execute(
            select(
                func.count(),
                func.count(case((ActivityMatch.planned_for >= recent_from, 1))),
            ).where(
                ActivityMatch.couple_id == couple.id,
                ActivityMatch.completed_at.is_not(None),
                ActivityMatch.planned_for.between(first, last),
            )
        )
    ).one()
    return int(done), bool(recent)


async def _responsiveness(
    session: AsyncSession, couple: Couple, members: list[uuid.UUID], first: date, last: date
) -> list[Responsiveness]:
    """For each partner as listener: the other's shares and the delay to a first reflection."""
    figures = {m: Responsiveness(m) for m in members}
    first_answer_reflection = (
        select(func.min(Reflection.created_at))
        .where(
            Reflection.target_type == "answer",
            Reflection.target_id == Answer.id,
            Reflection.author_id != Answer.user_id,
        )
        .scalar_subquery()
    )
    answer_rows = await session.execute(
        select(Answer.user_id, Answer.revealed_at, first_answer_reflection)
        .join(DailyPrompt, DailyPrompt.id == Answer.daily_prompt_id)
        .where(
            Answer.couple_id == couple.id,
            Answer.revealed_at.is_not(None),
            DailyPrompt.local_date.between(first, last),
        )
    )
    first_checkin_reflection = (
        select(func.min(Reflection.created_at))
        .where(
            Reflection.target_type == "checkin",
            Reflection.target_id == CheckIn.id,
            Reflection.author_id != CheckIn.user_id,
        )
        .scalar_subquery()
    )
    checkin_rows = await session.execute(
        select(CheckIn.user_id, CheckIn.shared_at, first_checkin_reflection).where(
            CheckIn.couple_id == couple.id,
            CheckIn.visibility == Visibility.partner,
            CheckIn.local_date.between(first, last),
        )
    )
    for author, shared_at, reflected_at in [*answer_rows, *checkin_rows]:
        listeners = [m for m in members if m != author]
        if not listeners:
            continue
        figure = figures[listeners[0]]
        figure.shares_received += 1
        if reflected_at is not None:
            figure.responded += 1
            if shared_at is not None:
                figure.delays_seconds.append(
                    max(0.0, (_aware(reflected_at) - _aware(shared_at)).total_seconds())
                )
    return list(figures.values())


def _aware(moment: datetime) -> datetime:
    # Aggregates (min) bypass the column type on SQLite and come back naive UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


async def streak(session: AsyncSession, couple: Couple, today: date) -> tuple[int, bool]:
    """Consecutive local days both answered, ending today, or yesterday while today is still
    open; returns the streak and whether today is open."""

    async def revealed_before(cursor: date) -> list[date]:
        return list(
            await session.scalars(
                select(DailyPrompt.local_date)
                .where(
                    DailyPrompt.couple_id == couple.id,
                    DailyPrompt.revealed_at.is_not(None),
                    DailyPrompt.local_date < cursor,
                )
                .order_by(DailyPrompt.local_date.desc())
                .limit(STREAK_CHUNK)
            )
        )

    dates = await revealed_before(today + timedelta(days=1))
    today_open = not dates or dates[0] != today
    expected = today - timedelta(days=1) if today_open else today
    count = 0
    while dates:
        for revealed_on in dates:
            if revealed_on != expected:
                return count, today_open
            count += 1
            expected -= timedelta(days=1)
        if len(dates) < STREAK_CHUNK:
            break
        dates = await revealed_before(dates[-1])
    return count, today_open


async def compute(session: AsyncSession, me: Member, window_days: int, now: datetime) -> Insights:
    """My current couple's figures, as I may see them."""
    viewer = me.user_id
    couple = await require_couple(session, viewer)
    private_counted = await is_first_party(session, me.client_id)
    last = local_date(couple, now)
    first = last - timedelta(days=window_days - 1)
    members = await _members(session, couple.id)
    sharing = await _sharing(session, couple, members, first, last)
    totals = [p.total for p in sharing] + [0, 0]
    index = balance_index(totals[0], totals[1])
    by_category, by_depth, recent_play = await _light_and_deep(session, couple, first, last)
    activities_done, recent_activity = await _activities_done(session, couple, first, last)
    recent_play = recent_play or recent_activity
    moments = sum(by_depth.values()) + activities_done
    streak_days, today_open = await streak(session, couple, last)
    reasons = []
    if await low_shared_mood(session, couple, members, last):
        reasons.append("low_shared_mood")
    trend = await trust_trend(session, couple.id, now)
    if any(partner["flat_or_falling"] for partner in trend["partners"].values()):
        reasons.append("trust_not_rising")
    return Insights(
        viewer=viewer,
        window_days=window_days,
        from_date=first,
        to_date=last,
        sharing=sharing,
        balance_index=index,
        one_sided=index is not None
        and sum(totals) >= BALANCE_MIN_SHARES
        and index < BALANCE_THRESHOLD,
        by_category=by_category,
        by_depth=by_depth,
        play_in_lookback=recent_play,
        too_heavy=by_depth[3] >= HEAVY_MIN_DEEP_DAYS
        and by_depth[3] / max(1, moments) >= HEAVY_DEEP_SHARE
        and not recent_play,
        responsiveness=await _responsiveness(session, couple, members, first, last),
        streak_days=streak_days,
        today_open=today_open,
        mood=await weekly_moods(
            session, couple, viewer if private_counted else None, members, first, last
        ),
        support_reasons=reasons,
        private_counted=private_counted,
        activities_done=activities_done,
    )
