"""The daily prompt, answer-then-reveal, and reflections."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Now
from app.core.etag import resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Actor, Scope, require
from app.db import SessionDep, WriteSessionDep
from app.models.answers import Answer, Reflection
from app.models.couples import Couple
from app.models.prompts import PromptVersion
from app.schemas.answers import (
    AnswerIn,
    AnswerOut,
    DayOut,
    DayState,
    MyAnswerOut,
    PromptCard,
    ReflectionIn,
    ReflectionOut,
)
from app.services import answers as service
from app.services import daily
from app.services.couples import NoCouple, require_couple

router = APIRouter(prefix="/v1", tags=["daily-prompts"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
PromptReader = Annotated[Actor, require(Scope.prompts_read)]
AnswerWriter = Annotated[Actor, require(Scope.answers_write)]
AnswerReader = Annotated[Actor, require(Scope.answers_read)]


def prompt_card(version: PromptVersion) -> PromptCard:
    return PromptCard(
        prompt_id=version.prompt_id,
        version_id=version.id,
        text=version.text,
        category=version.category,
        depth=version.depth,
        kind=version.kind,
        listener_guidance=version.listener_guidance,
        tags=version.tags,
    )


def reflection_out(reflection: Reflection) -> ReflectionOut:
    return ReflectionOut(
        id=reflection.id,
        answer_id=reflection.target_id,
        author_id=reflection.author_id,
        kind=reflection.kind,
        text=reflection.text,
        created_at=reflection.created_at,
    )


def _answer_out(answer: Answer, reflections: list[Reflection]) -> AnswerOut:
    return AnswerOut(
        id=answer.id,
        user_id=answer.user_id,
        text=answer.text,
        created_at=answer.created_at,
        updated_at=answer.updated_at,
        revealed_at=answer.revealed_at,
        reflections=[reflection_out(r) for r in reflections],
    )


def _day_out(
    day: daily.Day,
    user_id: uuid.UUID,
    *,
    show_answers: bool,
    is_open: bool,
    reflections: dict[uuid.UUID, list[Reflection]],
) -> DayOut:
    mine = next((a for a in day.answers if a.user_id == user_id), None)
    theirs = next((a for a in day.answers if a.user_id != user_id), None)
    revealed = day.daily.revealed_at is not None
    if revealed:
        state = DayState.revealed
    elif not is_open:
        state = DayState.closed
    elif mine and not theirs:
        state = DayState.waiting_for_partner
    elif theirs and not mine:
        state = DayState.waiting_for_you
    else:
        state = DayState.open
    return DayOut(
        date=day.daily.local_date,
        state=state,
        prompt=prompt_card(day.version),
        swapped=day.daily.swapped_at is not None,
        can_swap=is_open and day.daily.swapped_at is None and not day.answers,
        my_answer=(
            _answer_out(mine, reflections.get(mine.id, [])) if mine and show_answers else None
        ),
        partner_answered=theirs is not None,
        # The partner's words appear only once both answered: answer-then-reveal.
        partner_answer=(
            _answer_out(theirs, reflections.get(theirs.id, []))
            if theirs and revealed and show_answers
            else None
        ),
        revealed_at=day.daily.revealed_at,
    )


async def days_out(
    session: AsyncSession,
    days: list[daily.Day],
    actor: Actor,
    is_open: Callable[[date], bool],
) -> list[DayOut]:
    """Shape days for the caller, loading the reflections of all of them in one query."""
    user_id = actor.require_user()
    show_answers = Scope.answers_read in actor.scopes
    revealed = (
        [a.id for d in days if d.daily.revealed_at for a in d.answers] if show_answers else []
    )
    reflections = await service.reflections_for(session, revealed)
    return [
        _day_out(
            d,
            user_id,
            show_answers=show_answers,
            is_open=is_open(d.daily.local_date),
            reflections=reflections,
        )
        for d in days
    ]


async def day_out(
    session: AsyncSession, couple: Couple, day: daily.Day, actor: Actor, now: datetime
) -> DayOut:
    shaped = await days_out(session, [day], actor, lambda d: daily.is_open(couple, d, now))
    return shaped[0]


DAY_ERRORS = (*AUTH_ERRORS, NoCouple)


@router.get(
    "/couples/me/prompts/today",
    summary="Get today's prompt",
    response_model=DayOut,
    responses=responses_for(*DAY_ERRORS, daily.NoPromptToday),
)
async def daily_prompts_today(
    request: Request, actor: PromptReader, session: WriteSessionDep, now: Now
) -> Response:
    """Both partners get the same prompt for the couple's local date; it is chosen on the
    first look of the day. Answers are included with the `answers:read` scope."""
    couple = await require_couple(session, actor.require_user())
    day = await daily.today(session, couple, now)
    return resource_response(request, await day_out(session, couple, day, actor, now))


@router.post(
    "/couples/me/prompts/today/swap",
    summary="Swap today's prompt",
    response_model=DayOut,
    responses=responses_for(*DAY_ERRORS, daily.NoPromptToday, daily.SwapUnavailable),
)
async def daily_prompts_swap(
    request: Request, actor: AnswerWriter, session: SessionDep, now: Now
) -> Response:
    """Swap today's prompt for another, once a day, while nobody has answered it."""
    couple = await require_couple(session, actor.require_user())
    day = await daily.swap_today(session, couple, now)
    return resource_response(request, await day_out(session, couple, day, actor, now))


@router.get(
    "/couples/me/prompts/{local_date}",
    summary="Get one day's prompt",
    response_model=DayOut,
    responses=responses_for(*DAY_ERRORS, daily.DayNotFound, UnprocessableContent),
)
async def daily_prompts_get(
    request: Request, local_date: date, actor: PromptReader, session: SessionDep, now: Now
) -> Response:
    couple = await require_couple(session, actor.require_user())
    day = await daily.get_day(session, couple, local_date)
    return resource_response(request, await day_out(session, couple, day, actor, now))


@router.put(
    "/couples/me/prompts/{local_date}/answer",
    summary="Answer a day's prompt",
    response_model=DayOut,
    responses=responses_for(
        *DAY_ERRORS,
        daily.DayNotFound,
        service.DayClosed,
        service.AnswersSealed,
        UnprocessableContent,
    ),
)
async def answers_put(
    request: Request,
    local_date: date,
    data: AnswerIn,
    actor: AnswerWriter,
    session: SessionDep,
    now: Now,
) -> Response:
    """Write or rewrite your answer. Your partner sees it only once they have answered too;
    then both answers are revealed at once and sealed."""
    couple = await require_couple(session, actor.require_user())
    day = await service.submit_answer(
        session, couple, actor.require_user(), local_date, data.text, now
    )
    return resource_response(request, await day_out(session, couple, day, actor, now))


@router.post(
    "/answers/{answer_id}/reflections",
    summary="Reflect on my partner's answer",
    status_code=201,
    response_model=ReflectionOut,
    responses=responses_for(
        *AUTH_ERRORS,
        service.AnswerNotFound,
        service.OwnAnswer,
        service.CoupleEnded,
        UnprocessableContent,
    ),
)
async def reflections_create(
    request: Request,
    answer_id: uuid.UUID,
    data: ReflectionIn,
    actor: AnswerWriter,
    session: SessionDep,
    now: Now,
) -> Response:
    """Respond as a listener: say back what you heard, appreciate, or ask a curious question."""
    reflection = await service.add_reflection(
        session, actor.require_user(), answer_id, data.kind, data.text, now
    )
    return resource_response(request, reflection_out(reflection), status_code=201)


@router.get(
    "/answers/{answer_id}/reflections",
    summary="List reflections on an answer",
    response_model=list[ReflectionOut],
    responses=responses_for(*AUTH_ERRORS, service.AnswerNotFound),
)
async def reflections_list(
    answer_id: uuid.UUID, actor: AnswerReader, session: SessionDep
) -> list[ReflectionOut]:
    reflections = await service.list_reflections(session, actor.require_user(), answer_id)
    return [reflection_out(r) for r in reflections]


@router.get(
    "/couples/me/prompts",
    summary="List my couple's days",
    response_model=Page[DayOut],
    responses=responses_for(*DAY_ERRORS, UnprocessableContent),
)
async def daily_prompts_list(
    actor: PromptReader, session: SessionDep, now: Now, params: PageParams
) -> Page[DayOut]:
    """Past days newest first, each with its prompt and where the answers stand."""
    couple = await require_couple(session, actor.require_user())
    days, window = await daily.list_days(session, couple, params)
    shaped = await days_out(session, days, actor, lambda d: daily.is_open(couple, d, now))
    return Page(data=shaped, next_cursor=window.next_cursor, has_more=window.has_more)


@router.get(
    "/me/answers",
    summary="List my answers",
    response_model=Page[MyAnswerOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def answers_list_mine(
    actor: AnswerReader, session: SessionDep, params: PageParams
) -> Page[MyAnswerOut]:
    """Everything you answered, in every couple you were part of, with your partner's answer
    where both were revealed. It stays readable after a couple ends."""
    items, window = await service.my_answers(session, actor.require_user(), params)
    return Page(
        data=[
            MyAnswerOut(
                date=item.day.local_date,
                couple_id=item.day.couple_id,
                prompt=prompt_card(item.version),
                answer=_answer_out(item.answer, []),
                partner_answer=_answer_out(item.partner_answer, [])
                if item.partner_answer
                else None,
            )
            for item in items
        ],
        next_cursor=window.next_cursor,
        has_more=window.has_more,
    )
