"""The daily prompt: today's, one day's, the couple's days, and the one swap a day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

import app.core.path_types  # noqa: F401  (registers the `:date` path parameter type)
from app.core.clock import Now, current_time
from app.core.etag import resource_response
from app.core.languages import Preferences
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.models.couples import Couple
from app.routers.languages import AcceptLanguage, localized
from app.schemas.daily import DayOut
from app.services import answers, daily, daily_today
from app.services.couples import NoCouple, require_couple
from app.services.wordings import reader_preferences

router = APIRouter(prefix="/v1", tags=["daily-prompts"])
# The list of days follows the answers' routes in the published schema (see app/main.py).
lists = APIRouter(prefix="/v1", tags=["daily-prompts"])
DAY_ERRORS = (Unauthorized, InsufficientScope, NoCouple)
PromptReader = Annotated[Member, member(Scope.prompts_read)]
AnswerWriter = Annotated[Member, member(Scope.answers_write)]


async def _seen_by(
    request: Request,
    session: AsyncSession,
    me: Member,
    couple: Couple,
    day: daily.Day,
    now: datetime,
    wanted: Preferences,
) -> Response:
    """The day as `me` may see it, in the languages they read."""
    view = await answers.day_as_seen_by(session, me, couple, day, now, wanted)
    return resource_response(request, DayOut.of(view), headers=localized([view.wording.locale]))


@router.get(
    "/couples/me/prompts/today",
    summary="Get today's prompt",
    response_model=DayOut,
    responses=responses_for(*DAY_ERRORS, daily.NoPromptToday),
)
async def daily_prompts_today(
    request: Request, me: PromptReader, accept_language: AcceptLanguage = None
) -> Response:
    """Both partners get the same prompt for the couple's local date; it is chosen on the
    first look of the day. Answers are included with the `answers:read` scope."""
    # The home screen: one hot read; the service opens a session only if it needs one.
    state = request.app.state
    seen, locale = await daily_today.today_as_seen_by(
        state.hot_reader,
        state.reading_sessionmaker,
        state.sessionmaker,
        me,
        await current_time(request),
        accept_language,
    )
    return resource_response(request, seen, headers=localized([locale]))


@router.post(
    "/couples/me/prompts/today/swap",
    summary="Swap today's prompt",
    response_model=DayOut,
    responses=responses_for(*DAY_ERRORS, daily.NoPromptToday, daily.SwapUnavailable),
)
async def daily_prompts_swap(
    request: Request,
    me: AnswerWriter,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Swap today's prompt for another, once a day, while nobody has answered it."""
    couple = await require_couple(session, me.user_id)
    day = await daily.swap_today(session, couple, now)
    wanted = await reader_preferences(session, me.user_id, accept_language)
    return await _seen_by(request, session, me, couple, day, now, wanted)


@router.get(
    "/couples/me/prompts/{local_date:date}",
    summary="Get one day's prompt",
    description=(
        "The prompt the couple got on a past local date (in the couple's time zone), with both "
        "answers once both partners answered."
    ),
    response_model=DayOut,
    responses=responses_for(*DAY_ERRORS, daily.DayNotFound, UnprocessableContent),
)
async def daily_prompts_get(
    request: Request,
    local_date: date,
    me: PromptReader,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    couple = await require_couple(session, me.user_id)
    day = await daily.get_day(session, couple, local_date)
    wanted = await reader_preferences(session, me.user_id, accept_language)
    return await _seen_by(request, session, me, couple, day, now, wanted)


@lists.get(
    "/couples/me/prompts",
    summary="List my couple's days",
    response_model=Page[DayOut],
    responses=responses_for(*DAY_ERRORS, UnprocessableContent),
)
async def daily_prompts_list(
    me: PromptReader,
    session: SessionDep,
    now: Now,
    params: PageParams,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Page[DayOut]:
    """Past days newest first, each with its prompt and where the answers stand."""
    couple = await require_couple(session, me.user_id)
    days = await daily.list_days(session, couple, params)
    wanted = await reader_preferences(session, me.user_id, accept_language)
    views = await answers.days_as_seen_by(session, me, couple, days.items, now, wanted)
    response.headers.update(localized(v.wording.locale for v in views))
    return Page[DayOut](
        data=[DayOut.of(view) for view in views],
        next_cursor=days.next_cursor,
        has_more=days.has_more,
    )
