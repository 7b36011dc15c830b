"""Answering a day's prompt, reflections on a partner's answer, and my answers."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.core.clock import Now
from app.core.etag import resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.routers.languages import AcceptLanguage, localized
from app.schemas.answers import AnswerIn, MyAnswerOut, ReflectionIn, ReflectionOut
from app.schemas.daily import DayOut
from app.services import answers as service
from app.services import daily, my_answers
from app.services.couples import NoCouple, require_couple
from app.services.wordings import reader_preferences

router = APIRouter(prefix="/v1", tags=["daily-prompts"])
# My answers follow the list of days in the published schema (see app/main.py).
lists = APIRouter(prefix="/v1", tags=["daily-prompts"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
AnswerWriter = Annotated[Member, member(Scope.answers_write)]
AnswerReader = Annotated[Member, member(Scope.answers_read)]


@router.put(
    "/couples/me/prompts/{local_date}/answer",
    summary="Answer a day's prompt",
    response_model=DayOut,
    responses=responses_for(
        *AUTH_ERRORS,
        NoCouple,
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
    me: AnswerWriter,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Write or rewrite your answer. Your partner sees it only once they have answered too;
    then both answers are revealed at once and sealed."""
    couple = await require_couple(session, me.user_id)
    wanted = await reader_preferences(session, me.user_id, accept_language)
    view = await service.submit_answer(session, me, couple, local_date, data.text, now, wanted)
    return resource_response(request, DayOut.of(view), headers=localized([view.wording.locale]))


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
    me: AnswerWriter,
    session: SessionDep,
    now: Now,
) -> Response:
    """Respond as a listener: say back what you heard, appreciate, or ask a curious question."""
    reflection = await service.add_reflection(session, me, answer_id, data.kind, data.text, now)
    return resource_response(request, ReflectionOut.of(reflection), status_code=201)


@router.get(
    "/answers/{answer_id}/reflections",
    summary="List reflections on an answer",
    description=("The reflections written on an answer of the caller's couple, oldest first."),
    response_model=list[ReflectionOut],
    responses=responses_for(*AUTH_ERRORS, service.AnswerNotFound),
)
async def reflections_list(
    answer_id: uuid.UUID, me: AnswerReader, session: SessionDep
) -> list[ReflectionOut]:
    reflections = await service.list_reflections(session, me, answer_id)
    return [ReflectionOut.of(r) for r in reflections]


@lists.get(
    "/me/answers",
    summary="List my answers",
    response_model=Page[MyAnswerOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def answers_list_mine(
    me: AnswerReader,
    session: SessionDep,
    params: PageParams,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Page[MyAnswerOut]:
    """Everything you answered, in every couple you were part of, with your partner's answer
    where both were revealed. It stays readable after a couple ends."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    window = await my_answers.my_answers(session, me, params, wanted)
    response.headers.update(localized(item.wording.locale for item in window.items))
    return Page[MyAnswerOut].of(window, MyAnswerOut.of)
