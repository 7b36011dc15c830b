"""Check-ins: how you feel, what you need, private or shared with your partner."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.core.clock import Now
from app.core.dates import LocalDates
from app.core.etag import check_if_match, private_created_response, resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import (
    InsufficientScope,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member, Scope, member
from app.db import SessionDep, write_session
from app.routers.private_http import CheckInReadSession
from app.schemas.checkins import (
    CheckInIn,
    CheckInOut,
    CheckInReflectionIn,
    CheckInReflectionOut,
    CheckInUpdate,
)
from app.services import checkin_pages as pages
from app.services import checkins as service
from app.services.couples import NoCouple
from app.services.private_writing import may_need_logging
from app.services.vocabularies import UnknownTerms

router = APIRouter(prefix="/v1", tags=["checkins"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
Reader = Annotated[Member, member(Scope.checkins_read)]
Writer = Annotated[Member, member(Scope.checkins_write)]


@router.post(
    "/checkins",
    summary="Record a check-in",
    status_code=201,
    response_model=CheckInOut,
    responses=responses_for(
        *AUTH_ERRORS, NotFound, service.NobodyToShareWith, UnknownTerms, UnprocessableContent
    ),
)
async def checkins_create(
    request: Request, data: CheckInIn, me: Writer, session: SessionDep, now: Now
) -> Response:
    """How you feel now: a mood, emotions and needs from the vocabularies, a note and what
    would help. Private by default; `partner` shares it with your partner, who can reflect
    on it."""
    checkin = await service.create_checkin(session, me, data, now)
    body = CheckInOut.model_validate(checkin)
    return private_created_response(request, body, f"/v1/checkins/{checkin.id}")


@router.get(
    "/checkins",
    summary="List my check-ins",
    response_model=Page[CheckInOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def checkins_list(
    request: Request, me: Reader, dates: LocalDates, params: PageParams
) -> Response:
    """Your own check-ins, private and shared, newest first; `from` and `to` bound your local
    dates. A third-party app sees the private ones only with `checkins:private`, and each
    such read is in your access log."""
    reader = request.app.state.hot_reader
    bounds = {"since": dates.since, "until": dates.until}
    if not may_need_logging(me):
        body = await pages.my_page(reader, me, params, None, **bounds)
    else:  # the access log's row commits before the answer leaves
        async with write_session(request) as session:
            body = await pages.my_page(reader, me, params, session, **bounds)
    return Response(body, media_type="application/json")


@router.get(
    "/couples/me/checkins",
    summary="List my couple's check-ins",
    response_model=Page[CheckInOut],
    responses=responses_for(*AUTH_ERRORS, NoCouple, UnprocessableContent),
)
async def checkins_list_couple(request: Request, me: Reader, params: PageParams) -> Response:
    """In your current couple: the check-ins your partner shared, and your own (the private
    ones as in `checkins_list`), newest first."""
    reader = request.app.state.hot_reader
    if not may_need_logging(me):
        body = await pages.couple_page(reader, me, params, None)
    else:  # the access log's row commits before the answer leaves
        async with write_session(request) as session:
            body = await pages.couple_page(reader, me, params, session)
    return Response(body, media_type="application/json")


@router.get(
    "/checkins/{checkin_id}",
    summary="Get a check-in",
    response_model=CheckInOut,
    responses=responses_for(*AUTH_ERRORS, service.CheckInNotFound),
)
async def checkins_get(
    request: Request, checkin_id: uuid.UUID, me: Reader, session: CheckInReadSession
) -> Response:
    """One of your check-ins, or one your partner shared with you. A private one reaches a
    third-party app only with `checkins:private` (logged in your access log); else `404`."""
    checkin = await service.get_checkin(session, me, checkin_id)
    return resource_response(request, CheckInOut.model_validate(checkin))


@router.patch(
    "/checkins/{checkin_id}",
    summary="Change a check-in",
    response_model=CheckInOut,
    responses=responses_for(
        *AUTH_ERRORS,
        service.CheckInNotFound,
        service.EditWindowClosed,
        service.NobodyToShareWith,
        PreconditionFailed,
        PreconditionRequired,
        UnknownTerms,
        UnprocessableContent,
    ),
)
async def checkins_update(
    request: Request,
    checkin_id: uuid.UUID,
    data: CheckInUpdate,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """Change your check-in's content within 24 hours of writing it, and who sees it at any
    time: making it private again hides it, and the reflections on it, from your partner.
    `If-Match` is required."""
    checkin = await service.get_own_checkin(session, me, checkin_id)
    check_if_match(request, CheckInOut.model_validate(checkin), required=True)
    checkin = await service.update_checkin(session, checkin, data, now)
    return resource_response(request, CheckInOut.model_validate(checkin))


@router.delete(
    "/checkins/{checkin_id}",
    summary="Delete a check-in",
    status_code=204,
    responses=responses_for(
        *AUTH_ERRORS,
        service.CheckInNotFound,
        service.EditWindowClosed,
        PreconditionFailed,
        PreconditionRequired,
    ),
)
async def checkins_delete(
    request: Request, checkin_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Delete your check-in for good, with the reflections on it, within 24 hours of writing
    it. `If-Match` is required."""
    checkin = await service.get_own_checkin(session, me, checkin_id)
    check_if_match(request, CheckInOut.model_validate(checkin), required=True)
    await service.delete_checkin(session, checkin, now)
    return Response(status_code=204)


@router.post(
    "/checkins/{checkin_id}/reflections",
    summary="Reflect on my partner's check-in",
    status_code=201,
    response_model=CheckInReflectionOut,
    responses=responses_for(
        *AUTH_ERRORS, service.CheckInNotFound, service.OwnCheckIn, UnprocessableContent
    ),
)
async def checkins_reflections_create(
    request: Request,
    checkin_id: uuid.UUID,
    data: CheckInReflectionIn,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """Respond as a listener to a check-in your partner shared: say back what you heard,
    appreciate, or ask a curious question."""
    reflection = await service.add_reflection(session, me, checkin_id, data.kind, data.text, now)
    return resource_response(
        request, CheckInReflectionOut.model_validate(reflection), status_code=201
    )


@router.get(
    "/checkins/{checkin_id}/reflections",
    summary="List reflections on a check-in",
    description="The reflections written on a check-in shared with the partner, oldest first.",
    response_model=list[CheckInReflectionOut],
    responses=responses_for(*AUTH_ERRORS, service.CheckInNotFound),
)
async def checkins_reflections_list(
    checkin_id: uuid.UUID, me: Reader, session: SessionDep
) -> list[CheckInReflectionOut]:
    reflections = await service.list_reflections(session, me, checkin_id)
    return [CheckInReflectionOut.model_validate(r) for r in reflections]
