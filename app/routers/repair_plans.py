"""Trust-repair plans: proposing one, reading them, and the moves both partners make.

A third-party app (a therapist's platform) reaches a couple's plans only while both partners
have allowed it `repair:read`; otherwise they answer 404 to it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Now
from app.core.etag import check_if_match, resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import (
    PreconditionFailed,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member
from app.db import SessionDep
from app.routers.languages import AcceptLanguage
from app.routers.repair_http import COUPLE_ERRORS, PLAN_ERRORS, PLANS, Reader, Writer
from app.schemas.repair_plans import DeclineRequest, PlanCreate, PlanOut, PlanSummary
from app.services import repair_plans as service
from app.services.repair_access import Guard
from app.services.repair_plans import PlanView
from app.services.wordings import reader_preferences

router = APIRouter(prefix="/v1", tags=["repair-plans"])
MOVE_RESPONSES = responses_for(*PLAN_ERRORS, service.PlanIllegalTransition, PreconditionFailed)


@router.post(
    PLANS,
    summary="Propose a repair plan",
    status_code=201,
    response_model=PlanOut,
    responses=responses_for(
        *COUPLE_ERRORS,
        service.PlanAlreadyOpen,
        service.PartnerMissing,
        service.NotAPartner,
        service.NoPublishedTemplate,
        UnprocessableContent,
    ),
)
async def repair_plans_create(
    request: Request,
    data: PlanCreate,
    me: Writer,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Propose a plan from a template (copied as it is published now, in your language where
    it is translated: the plan is then the couple's own words) or a blank one, naming who was
    hurt, or `mutual`. It becomes active only once your partner accepts it. A couple has one
    open plan at a time."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    view = await service.propose(session, me, data, now, wanted)
    location = f"/v1{PLANS}/{view.plan.id}"
    return resource_response(
        request, PlanOut.from_view(view), status_code=201, headers={"Location": location}
    )


@router.get(
    PLANS,
    summary="List my couple's repair plans",
    response_model=Page[PlanSummary],
    responses=responses_for(*COUPLE_ERRORS, UnprocessableContent),
)
async def repair_plans_list(
    me: Reader, session: SessionDep, params: PageParams
) -> Page[PlanSummary]:
    """Newest first, whatever their status."""
    window = await service.list_plans(session, me, params)
    return Page[PlanSummary].of(window, PlanSummary.from_plan)


@router.get(
    PLANS + "/{plan_id}",
    summary="Get a repair plan",
    response_model=PlanOut,
    responses=responses_for(*PLAN_ERRORS),
)
async def repair_plans_get(
    request: Request, plan_id: uuid.UUID, me: Reader, session: SessionDep
) -> Response:
    """The plan with its phases, steps, agreements, pending sign-offs and the moves you can
    make now."""
    view = await service.get_plan(session, me, plan_id)
    return resource_response(request, PlanOut.from_view(view))


def _if_match(request: Request) -> Guard[PlanView] | None:
    if "if-match" not in request.headers:  # building the current copy costs queries: only then
        return None
    return lambda current: check_if_match(request, PlanOut.from_view(current))


async def _move(
    request: Request,
    session: AsyncSession,
    me: Member,
    plan_id: uuid.UUID,
    move: str,
    now: datetime,
    note: str | None = None,
) -> Response:
    view = await service.move(session, me, plan_id, move, now, note=note, guard=_if_match(request))
    return resource_response(request, PlanOut.from_view(view))


@router.post(
    PLANS + "/{plan_id}/accept",
    summary="Accept a proposed repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_accept(
    request: Request, plan_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """proposed → active, by the partner who did not propose it."""
    return await _move(request, session, me, plan_id, "accept", now)


@router.post(
    PLANS + "/{plan_id}/decline",
    summary="Decline a proposed repair plan",
    response_model=PlanOut,
    responses=responses_for(
        *PLAN_ERRORS, service.PlanIllegalTransition, PreconditionFailed, UnprocessableContent
    ),
)
async def repair_plans_decline(
    request: Request,
    plan_id: uuid.UUID,
    me: Writer,
    session: SessionDep,
    now: Now,
    data: DeclineRequest | None = None,
) -> Response:
    """proposed → declined, by the partner who did not propose it. The optional note is
    yours alone: your partner never sees it."""
    note = data.note if data else None
    return await _move(request, session, me, plan_id, "decline", now, note)


@router.post(
    PLANS + "/{plan_id}/pause",
    summary="Pause a repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_pause(
    request: Request, plan_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """active → paused, by either partner."""
    return await _move(request, session, me, plan_id, "pause", now)


@router.post(
    PLANS + "/{plan_id}/resume",
    summary="Resume a paused repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_resume(
    request: Request, plan_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """paused → active, by either partner."""
    return await _move(request, session, me, plan_id, "resume", now)


@router.post(
    PLANS + "/{plan_id}/advance",
    summary="Sign off moving to the next phase",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_advance(
    request: Request, plan_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Both partners sign off: the first sign-off is recorded (see `pending_sign_offs`), the
    second moves the plan to its next phase."""
    return await _move(request, session, me, plan_id, "advance", now)


@router.post(
    PLANS + "/{plan_id}/complete",
    summary="Sign off completing the repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_complete(
    request: Request, plan_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """In the last phase, both partners sign off: the second sign-off completes the plan."""
    return await _move(request, session, me, plan_id, "complete", now)


@router.post(
    PLANS + "/{plan_id}/abandon",
    summary="End a repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_abandon(
    request: Request, plan_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Either partner can end an open plan at any time; no reason is asked or recorded."""
    return await _move(request, session, me, plan_id, "abandon", now)
