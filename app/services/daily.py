"""The couple's daily prompt: assigned on first read of a local date, the same for both."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, NotFound
from app.models.answers import Answer, DailyPrompt, Reflection
from app.models.couples import Couple
from app.models.prompts import Category, LibraryStatus, PromptLibrary, PromptVersion
from app.services.prompt_selection import Candidate, History, PastDay, choose_prompt
from app.services.repair_plans import has_active_plan
from app.services.wordings import live_languages

# A day's prompt stays open for answers through the next local day, so partners who answer
# late at night and early the next morning still meet.
ANSWER_GRACE_DAYS = 1
REPAIR_LEAN = frozenset({Category.repair, Category.play})


class NoPromptToday(NotFound):
    slug = "no-prompt-available"
    title = "No prompt is available"


class DayNotFound(NotFound):
    slug = "day-not-found"
    title = "Your couple had no prompt that day"


class SwapUnavailable(Conflict):
    slug = "swap-unavailable"
    title = "Today's prompt cannot be swapped"


@dataclass
class Day:
    daily: DailyPrompt
    version: PromptVersion
    answers: list[Answer]
    reflections: dict[uuid.UUID, list[Reflection]] | None = None
    """The reflections under the answers of a revealed day, by answer, when they were loaded
    with the day (`with_reflections`); None when not loaded. What a caller may see of them
    is `answers.days_as_seen_by`'s decision."""


def local_date(couple: Couple, now: datetime) -> date:
    return now.astimezone(ZoneInfo(couple.timezone)).date()


def is_open(couple: Couple, day: date, now: datetime) -> bool:
    today = local_date(couple, now)
    return today - timedelta(days=ANSWER_GRACE_DAYS) <= day <= today


def _language(locale: str) -> str:
    return locale.split("-", 1)[0].lower()


@dataclass
class Pool:
    candidates: list[Candidate]
    prefer: frozenset[Category]


async def eligible_pool(session: AsyncSession, couple: Couple, day: date) -> Pool:
    """Live prompts of the libraries the couple draws from, in its language and stage.

    Without a choice of libraries a couple draws from every library that is not opt-in;
    prompts marked for other relationship stages are left out while any remain.
    While the couple's repair plan is under way (`has_active_plan`), sensitive prompts leave
    the pool, and on two days out of three (`day`'s ordinal not a multiple of 3) the choice
    prefers `repair` and `play` prompts among those not used yet in the cycle.
    """
    statement = (
        select(PromptVersion)
        .join(PromptLibrary, PromptLibrary.id == PromptVersion.library_id)
        .where(
            PromptVersion.is_live.is_(True),
            PromptLibrary.published_version.is_not(None),
            PromptLibrary.status != LibraryStatus.archived,
        )
    )
    stage = couple.relationship_stage.value if couple.relationship_stage else None
    if couple.enabled_libraries:
        statement = statement.where(PromptLibrary.slug.in_(couple.enabled_libraries))
    else:
        statement = statement.where(PromptLibrary.opt_in.is_(False))
    repairing = await has_active_plan(session, couple.id)
    if repairing:
        statement = statement.where(PromptVersion.sensitive.is_(False))
    versions = list(await session.scalars(statement))
    if not couple.enabled_libraries and stage is not None:
        versions = [v for v in versions if not v.stages or stage in v.stages] or versions
    # The couple's language: prompts written in it, or translated into it (each partner
    # then reads the day's prompt in their own language; `wordings`).
    language = _language(couple.locale)
    others = [v.id for v in versions if _language(v.locale) != language]
    translated = await live_languages(session, others, language) if others else set()
    chosen = [
        v for v in versions if _language(v.locale) == language or v.id in translated
    ] or versions
    return Pool(
        candidates=[Candidate(v.prompt_id, v.id, v.category, v.depth) for v in chosen],
        prefer=REPAIR_LEAN if repairing and day.toordinal() % 3 else frozenset(),
    )


async def _history(session: AsyncSession, couple_id: uuid.UUID, day: date) -> History:
    latest_cycle = (
        select(func.max(DailyPrompt.cycle)).where(DailyPrompt.couple_id == couple_id)
    ).scalar_subquery()
    rows = await session.execute(
        select(DailyPrompt, PromptVersion.category, PromptVersion.depth)
        .join(PromptVersion, PromptVersion.id == DailyPrompt.prompt_version_id)
        .where(
            DailyPrompt.couple_id == couple_id,
            DailyPrompt.local_date < day,
            or_(
                DailyPrompt.cycle == latest_cycle, DailyPrompt.local_date >= day - timedelta(days=3)
            ),
        )
    )
    days = [
        PastDay(d.local_date, d.prompt_id, category, depth, d.cycle) for d, category, depth in rows
    ]
    revealed = await session.scalar(
        select(func.count())
        .select_from(DailyPrompt)
        .where(DailyPrompt.couple_id == couple_id, DailyPrompt.revealed_at.is_not(None))
    )
    return History(days=days, revealed_days=revealed or 0)


def _with_answers(
    statement: Select[*tuple[Any, ...]], *, with_reflections: bool
) -> Select[*tuple[Any, ...]]:
    """Join a statement selecting days (and their versions) to the days' answers and, asked,
    the reflections under the answers of revealed days: one row per answer and reflection."""
    statement = (
        statement.add_columns(Answer)
        .outerjoin(Answer, Answer.daily_prompt_id == DailyPrompt.id)
        .order_by(Answer.created_at, Answer.id)
    )
    if not with_reflections:
        return statement
    return (
        statement.add_columns(Reflection)
        .outerjoin(
            Reflection,
            and_(
                DailyPrompt.revealed_at.is_not(None),
                Reflection.target_type == "answer",
                Reflection.target_id == Answer.id,
            ),
        )
        .order_by(Reflection.created_at, Reflection.id)
    )


def _day_from_rows(rows: Sequence[tuple[Any, ...]], *, with_reflections: bool) -> Day:
    """One day from its rows (`_with_answers`): (day, version, answer[, reflection]) each."""
    answers: list[Answer] = []
    reflections: dict[uuid.UUID, list[Reflection]] | None = {} if with_reflections else None
    for values in rows:
        answer: Answer | None = values[2]
        if answer is None:
            continue
        if not answers or answers[-1] is not answer:
            answers.append(answer)
        if reflections is not None:
            under = reflections.setdefault(answer.id, [])
            if values[3] is not None:
                under.append(values[3])
    return Day(daily=rows[0][0], version=rows[0][1], answers=answers, reflections=reflections)


async def _load_day(
    session: AsyncSession, couple_id: uuid.UUID, day: date, *, with_reflections: bool = False
) -> Day | None:
    """The day with its prompt version and answers (and, asked, the reflections under the
    answers of a revealed day) in one query."""
    statement = _with_answers(
        select(DailyPrompt, PromptVersion)
        .join(PromptVersion, PromptVersion.id == DailyPrompt.prompt_version_id)
        .where(DailyPrompt.couple_id == couple_id, DailyPrompt.local_date == day),
        with_reflections=with_reflections,
    )
    rows = [tuple(row) for row in await session.execute(statement)]
    return _day_from_rows(rows, with_reflections=with_reflections) if rows else None


async def get_day(session: AsyncSession, couple: Couple, day: date) -> Day:
    found = await _load_day(session, couple.id, day)
    if found is None:
        raise DayNotFound(f"Your couple had no prompt on {day.isoformat()}.")
    return found


async def today(session: AsyncSession, couple: Couple, now: datetime) -> Day:
    """Today's prompt for the couple, choosing it when this is the first look today."""
    day = local_date(couple, now)
    existing = await _load_day(session, couple.id, day)
    if existing is not None:
        return existing
    pool = await eligible_pool(session, couple, day)
    choice = choose_prompt(
        couple.id,
        day,
        pool.candidates,
        await _history(session, couple.id, day),
        max_depth=couple.max_depth,
        prefer=pool.prefer,
    )
    if choice is None:
        raise NoPromptToday("No published prompt suits your couple's libraries and language yet.")
    daily = DailyPrompt(
        couple_id=couple.id,
        local_date=day,
        prompt_id=choice.candidate.prompt_id,
        prompt_version_id=choice.candidate.version_id,
        cycle=choice.cycle,
        assigned_at=now,
    )
    session.add(daily)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the partner opened the app at the same moment: use theirs
        raced = await _load_day(session, couple.id, day)
        assert raced is not None
        return raced
    await append_event(
        session,
        "prompt.assigned",
        couple_id=couple.id,
        daily_prompt_id=daily.id,
        prompt_id=daily.prompt_id,
        swapped=False,
    )
    version = await session.get_one(PromptVersion, daily.prompt_version_id)
    return Day(daily=daily, version=version, answers=[])


async def swap_today(session: AsyncSession, couple: Couple, now: datetime) -> Day:
    """Replace today's prompt once, before anyone has answered it."""
    current = await today(session, couple, now)
    if current.daily.swapped_at is not None:
        raise SwapUnavailable("Today's prompt was already swapped once.")
    if current.answers:
        raise SwapUnavailable("Someone already answered today's prompt.")
    day = current.daily.local_date
    pool = await eligible_pool(session, couple, day)
    choice = choose_prompt(
        couple.id,
        day,
        pool.candidates,
        await _history(session, couple.id, day),
        max_depth=couple.max_depth,
        exclude=frozenset({current.daily.prompt_id}),
        prefer=pool.prefer,
    )
    if choice is None:
        raise SwapUnavailable("There is no other prompt to swap to.")
    current.daily.prompt_id = choice.candidate.prompt_id
    current.daily.prompt_version_id = choice.candidate.version_id
    current.daily.cycle = choice.cycle
    current.daily.swapped_at = now
    await session.flush()
    await append_event(
        session,
        "prompt.assigned",
        couple_id=couple.id,
        daily_prompt_id=current.daily.id,
        prompt_id=current.daily.prompt_id,
        swapped=True,
    )
    version = await session.get_one(PromptVersion, current.daily.prompt_version_id)
    return Day(daily=current.daily, version=version, answers=[])


async def _days_for(session: AsyncSession, dailies: list[DailyPrompt]) -> list[Day]:
    """Attach versions and answers to several days in two queries."""
    if not dailies:
        return []
    versions = {
        v.id: v
        for v in await session.scalars(
            select(PromptVersion).where(
                PromptVersion.id.in_({d.prompt_version_id for d in dailies})
            )
        )
    }
    answers: dict[uuid.UUID, list[Answer]] = {d.id: [] for d in dailies}
    for answer in await session.scalars(
        select(Answer).where(Answer.daily_prompt_id.in_(list(answers))).order_by(Answer.created_at)
    ):
        answers[answer.daily_prompt_id].append(answer)
    return [
        Day(daily=d, version=versions[d.prompt_version_id], answers=answers[d.id]) for d in dailies
    ]


async def list_days(session: AsyncSession, couple: Couple, params: PageQuery) -> Window[Day]:
    """The couple's days, newest first."""
    window = await paginate(
        session,
        select(DailyPrompt).where(DailyPrompt.couple_id == couple.id),
        order=(DailyPrompt.local_date,),
        params=params,
        descending=True,
    )
    days = await _days_for(session, window.items)
    return Window(items=days, next_cursor=window.next_cursor, has_more=window.has_more)
