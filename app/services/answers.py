"""Answer-then-reveal, what each partner may see of a day, and listening reflections.

Until both partners have answered a day's prompt, each sees only their own answer and a
neutral flag; the second answer reveals both at once and seals them. Answers reach a caller
only through a token holding `answers:read`: `days_as_seen_by` is the one place that decides
what of a day a partner sees.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.core.languages import Preferences
from app.core.problems import Conflict, Forbidden, InsufficientScope, NotFound
from app.core.security import Member, Scope
from app.models.answers import Answer, DailyPrompt, Reflection, ReflectionKind
from app.models.couples import Couple, CoupleMember, CoupleStatus
from app.models.prompts import PromptVersion
from app.schemas.daily import DayState
from app.services import daily
from app.services.wordings import Wording, wordings


class DayClosed(Conflict):
    slug = "day-closed"
    title = "This day is not open for answers"


class AnswersSealed(Conflict):
    slug = "answers-sealed"
    title = "Both answers are revealed and sealed"


class AnswerNotFound(NotFound):
    slug = "answer-not-found"
    title = "Answer not found"


class OwnAnswer(Forbidden):
    slug = "own-answer"
    title = "Reflections are for your partner's answers"


class CoupleEnded(Conflict):
    slug = "couple-ended"
    title = "This couple has ended"


def require_scope(member: Member, scope: Scope) -> None:
    # Routers check scopes before the handler; services check again, so that a caller
    # outside HTTP (a worker, a CLI command) cannot skip the rule.
    if not member.has(scope):
        raise InsufficientScope(f"This operation needs the scope {scope.value}.")


@dataclass(frozen=True, slots=True)
class AnswerView:
    """An answer the caller may read, with the reflections under it."""

    answer: Answer
    reflections: list[Reflection]


@dataclass(frozen=True, slots=True)
class DayView:
    """A day of the couple as one partner may see it, holding nothing more.

    Answers are there only for a token with `answers:read`, and the partner's only once both
    are revealed; until then `partner_answered` tells, neutrally, whether they have answered.
    """

    day: DailyPrompt
    prompt: PromptVersion
    wording: Wording
    """The prompt's words in the reader's language, or the library's (`wordings`)."""
    state: DayState
    can_swap: bool
    my_answer: AnswerView | None
    partner_answered: bool
    partner_answer: AnswerView | None


def day_state(revealed: bool, is_open: bool, mine: bool, theirs: bool) -> DayState:
    if revealed:
        return DayState.revealed
    if not is_open:
        return DayState.closed
    if mine and not theirs:
        return DayState.waiting_for_partner
    if theirs and not mine:
        return DayState.waiting_for_you
    return DayState.open


def _day_view(
    day: daily.Day,
    member: Member,
    *,
    is_open: bool,
    reflections: dict[uuid.UUID, list[Reflection]] | None,
    wording: Wording,
) -> DayView:
    """`reflections` is None when the caller may read no answers at all."""
    mine = next((a for a in day.answers if a.user_id == member.user_id), None)
    theirs = next((a for a in day.answers if a.user_id != member.user_id), None)
    revealed = day.daily.revealed_at is not None

    def view(answer: Answer | None) -> AnswerView | None:
        if answer is None or reflections is None:
            return None
        return AnswerView(answer=answer, reflections=reflections.get(answer.id, []))

    return DayView(
        day=day.daily,
        prompt=day.version,
        wording=wording,
        state=day_state(revealed, is_open, mine is not None, theirs is not None),
        can_swap=is_open and day.daily.swapped_at is None and not day.answers,
        my_answer=view(mine),
        partner_answered=theirs is not None,
        # The partner's words appear only once both answered: answer-then-reveal.
        partner_answer=view(theirs) if revealed else None,
    )


async def days_as_seen_by(
    session: AsyncSession,
    member: Member,
    couple: Couple,
    days: list[daily.Day],
    now: datetime,
    wanted: Preferences = Preferences(),
) -> list[DayView]:
    """Days of the member's couple as the member may see them now, in the order given, in
    the languages they want, loading the reflections of all of them in one query."""
    if any(day.daily.couple_id != couple.id for day in days):
        raise ValueError("days_as_seen_by shows the days of one couple, the member's")
    reflections: dict[uuid.UUID, list[Reflection]] | None = None
    if member.has(Scope.answers_read):
        if all(day.reflections is not None for day in days):  # loaded with the days
            reflections = {k: v for day in days for k, v in (day.reflections or {}).items()}
        else:
            revealed = [a.id for d in days if d.daily.revealed_at is not None for a in d.answers]
            reflections = await _reflections_for(session, revealed)
    texts = await wordings(session, [day.version for day in days], wanted)
    return [
        _day_view(
            day,
            member,
            is_open=daily.is_open(couple, day.daily.local_date, now),
            reflections=reflections,
            wording=texts[day.version.id],
        )
        for day in days
    ]


async def day_as_seen_by(
    session: AsyncSession,
    member: Member,
    couple: Couple,
    day: daily.Day,
    now: datetime,
    wanted: Preferences = Preferences(),
) -> DayView:
    (view,) = await days_as_seen_by(session, member, couple, [day], now, wanted)
    return view


async def submit_answer(
    session: AsyncSession,
    member: Member,
    couple: Couple,
    day: date,
    text: str,
    now: datetime,
    wanted: Preferences = Preferences(),
) -> DayView:
    """Write or rewrite the member's answer; the day comes back as they now see it."""
    require_scope(member, Scope.answers_write)
    user_id = member.user_id
    # Lock the day so two answers landing together cannot both miss the reveal.
    locked = await session.scalar(
        select(DailyPrompt)
        .where(DailyPrompt.couple_id == couple.id, DailyPrompt.local_date == day)
        .with_for_update()
    )
    if locked is None:
        raise daily.DayNotFound(f"Your couple had no prompt on {day.isoformat()}.")
    if locked.revealed_at is not None:
        raise AnswersSealed("Both answers for this day are revealed; they can no longer change.")
    if not daily.is_open(couple, day, now):
        raise DayClosed(
            "A day's prompt can be answered on that day and the next one, "
            "in your couple's time zone."
        )
    current = await daily.get_day(session, couple, day)
    mine = next((a for a in current.answers if a.user_id == user_id), None)
    if mine is not None:
        mine.text = text
        await session.flush()
    else:
        mine = Answer(
            daily_prompt_id=locked.id,
            couple_id=couple.id,
            user_id=user_id,
            prompt_version_id=locked.prompt_version_id,
            text=text,
            created_at=now,
            updated_at=now,
        )
        session.add(mine)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            raise Conflict(
                "Your answer was submitted twice at once; fetch the day again."
            ) from None
        current.answers.append(mine)
        await append_event(
            session,
            "answer.submitted",
            user_id=user_id,
            couple_id=couple.id,
            daily_prompt_id=locked.id,
            answer_id=mine.id,
        )
    if len(current.answers) == 2:
        await _reveal(session, locked, current.answers, now)
    return await day_as_seen_by(session, member, couple, current, now, wanted)


async def _reveal(
    session: AsyncSession, day: DailyPrompt, answers: list[Answer], now: datetime
) -> None:
    day.revealed_at = now
    for answer in answers:
        answer.revealed_at = now
    await session.flush()
    await append_event(session, "answer.revealed", couple_id=day.couple_id, daily_prompt_id=day.id)


async def _answer_in_my_couples(
    session: AsyncSession, user_id: uuid.UUID, answer_id: uuid.UUID
) -> tuple[Answer, Couple] | None:
    """An answer the caller may know exists: their own, or a revealed one of their partner's,
    in any couple they belong or belonged to."""
    row = (
        await session.execute(
            select(Answer, Couple)
            .join(Couple, Couple.id == Answer.couple_id)
            .join(
                CoupleMember,
                (CoupleMember.couple_id == Answer.couple_id) & (CoupleMember.user_id == user_id),
            )
            .where(Answer.id == answer_id)
        )
    ).first()
    if row is None:
        return None
    answer, couple = row
    if answer.user_id != user_id and answer.revealed_at is None:
        return None
    return answer, couple


async def add_reflection(
    session: AsyncSession,
    member: Member,
    answer_id: uuid.UUID,
    kind: ReflectionKind,
    text: str,
    now: datetime,
) -> Reflection:
    require_scope(member, Scope.answers_write)
    user_id = member.user_id
    found = await _answer_in_my_couples(session, user_id, answer_id)
    if found is None:
        raise AnswerNotFound("No answer of your partner's with this id is revealed to you.")
    answer, couple = found
    if answer.user_id == user_id:
        raise OwnAnswer("Only your partner can reflect on your answer.")
    if couple.status is not CoupleStatus.active:
        raise CoupleEnded("Reflections are closed once a couple has ended.")
    reflection = Reflection(
        target_type="answer",
        target_id=answer.id,
        couple_id=couple.id,
        author_id=user_id,
        kind=kind,
        text=text,
        created_at=now,
    )
    session.add(reflection)
    await session.flush()
    await append_event(
        session,
        "reflection.created",
        user_id=user_id,
        couple_id=couple.id,
        reflection_id=reflection.id,
        target_type="answer",
        target_id=answer.id,
    )
    return reflection


async def list_reflections(
    session: AsyncSession, member: Member, answer_id: uuid.UUID
) -> list[Reflection]:
    require_scope(member, Scope.answers_read)
    if await _answer_in_my_couples(session, member.user_id, answer_id) is None:
        raise AnswerNotFound("No answer with this id is visible to you.")
    return list(
        await session.scalars(
            select(Reflection)
            .where(Reflection.target_type == "answer", Reflection.target_id == answer_id)
            .order_by(Reflection.created_at, Reflection.id)
        )
    )


async def _reflections_for(
    session: AsyncSession, answer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Reflection]]:
    """Reflections under several answers in one query (for a day view)."""
    grouped: dict[uuid.UUID, list[Reflection]] = {answer_id: [] for answer_id in answer_ids}
    if not answer_ids:
        return grouped
    rows = await session.scalars(
        select(Reflection)
        .where(Reflection.target_type == "answer", Reflection.target_id.in_(answer_ids))
        .order_by(Reflection.created_at, Reflection.id)
    )
    for reflection in rows:
        grouped[reflection.target_id].append(reflection)
    return grouped
