"""The weekly ritual: a check-in the couple schedules at a local time, held in steps
(appreciations, what went well, one issue talked through as a speaker-listener conversation,
what would help next week), with commitments each partner marks done during the week.

A guided conversation of the couple: the `conversations:*` scopes, and a third-party app
reaches it only while both partners have allowed it `conversations:read` (404 otherwise).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Now
from app.core.etag import resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.models.rituals import RitualStep
from app.schemas.rituals import (
    CommitmentIn,
    CommitmentOut,
    EntryIn,
    IssueIn,
    RitualOut,
    ScheduleIn,
    ScheduleOut,
)
from app.services import ritual_commitments as commitments
from app.services import ritual_schedule as schedules
from app.services import rituals as service
from app.services.conversations import ConversationNotFound
from app.services.couples import NoCouple

router = APIRouter(prefix="/v1", tags=["rituals"])
SCHEDULE = "/couples/me/ritual-schedule"
RITUALS = "/couples/me/rituals"
ONE = RITUALS + "/{ritual_id}"
COMMITMENT = "/couples/me/ritual-commitments/{commitment_id}"
Reader = Annotated[Member, member(Scope.conversations_read)]
Writer = Annotated[Member, member(Scope.conversations_write)]
COUPLE_ERRORS = (Unauthorized, InsufficientScope, NoCouple, schedules.RitualsHidden)
ONE_ERRORS = (*COUPLE_ERRORS, service.RitualNotFound)
CHANGE_ERRORS = (*ONE_ERRORS, service.RitualClosed, service.RitualStepOutOfOrder)


@router.get(
    SCHEDULE,
    summary="Get my couple's weekly ritual schedule",
    response_model=ScheduleOut,
    responses=responses_for(*COUPLE_ERRORS, schedules.ScheduleNotFound),
)
async def ritual_schedule_get(
    request: Request, me: Reader, session: SessionDep, now: Now
) -> Response:
    """The weekday and local time, and when the ritual is next due."""
    view = await schedules.get_schedule(session, me, now)
    return resource_response(request, ScheduleOut.from_view(view))


@router.put(
    SCHEDULE,
    summary="Schedule my couple's weekly ritual",
    response_model=ScheduleOut,
    responses={
        201: {"model": ScheduleOut, "description": "Scheduled for the first time."},
        **responses_for(*COUPLE_ERRORS, UnprocessableContent),
    },
)
async def ritual_schedule_put(
    request: Request, data: ScheduleIn, me: Writer, session: SessionDep, now: Now
) -> Response:
    """A weekday and a local time in the couple's time zone (it follows daylight-saving
    changes); either partner sets or changes it. Each partner is reminded then, unless they
    turned `weekly_ritual` off in their notification settings."""
    view, created = await schedules.put_schedule(session, me, data, now)
    return resource_response(
        request, ScheduleOut.from_view(view), status_code=201 if created else 200
    )


@router.delete(
    SCHEDULE,
    summary="Stop my couple's weekly ritual",
    status_code=204,
    responses=responses_for(*COUPLE_ERRORS, schedules.ScheduleNotFound),
)
async def ritual_schedule_delete(me: Writer, session: SessionDep) -> Response:
    """No more reminders and no new ritual; the rituals held stay."""
    await schedules.delete_schedule(session, me)
    return Response(status_code=204)


@router.post(
    RITUALS,
    summary="Start this week's ritual",
    status_code=201,
    response_model=RitualOut,
    responses=responses_for(
        *COUPLE_ERRORS,
        schedules.ScheduleNotFound,
        service.RitualNeedsPartner,
        service.RitualAlreadyStarted,
    ),
)
async def rituals_create(request: Request, me: Writer, session: SessionDep, now: Now) -> Response:
    """The ritual of the week that began on the latest scheduled day (a day late still
    counts for that week); one a week: a second answers `409` with its `ritual_id`."""
    view = await service.start_ritual(session, me, now)
    return resource_response(
        request,
        RitualOut.from_view(view),
        status_code=201,
        headers={"Location": f"/v1{RITUALS}/{view.ritual.id}"},
    )


@router.get(
    RITUALS,
    summary="List my couple's rituals",
    response_model=Page[RitualOut],
    responses=responses_for(*COUPLE_ERRORS, UnprocessableContent),
)
async def rituals_list(me: Reader, session: SessionDep, params: PageParams) -> Page[RitualOut]:
    """Newest week first."""
    caller, window = await service.list_rituals(session, me, params)
    views = [await service.build_view(session, caller, ritual) for ritual in window.items]
    return Page[RitualOut](
        data=[RitualOut.from_view(view) for view in views],
        next_cursor=window.next_cursor,
        has_more=window.has_more,
    )


@router.get(
    ONE, summary="Get a ritual", response_model=RitualOut, responses=responses_for(*ONE_ERRORS)
)
async def rituals_get(
    request: Request, ritual_id: uuid.UUID, me: Reader, session: SessionDep
) -> Response:
    """Each partner's progress, your words, and your partner's once you both finished the
    step they are in (all of them once the ritual closed)."""
    view = await service.get_ritual(session, me, ritual_id)
    return resource_response(request, RitualOut.from_view(view))


@router.post(
    ONE + "/entries",
    summary="Write an appreciation or what went well",
    response_model=RitualOut,
    responses=responses_for(*CHANGE_ERRORS, UnprocessableContent),
)
async def rituals_entry(
    request: Request,
    ritual_id: uuid.UUID,
    data: EntryIn,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """In your current step (`appreciations`, then `went_well`), as many as you like; any
    other step answers `409` naming your `current_step`."""
    view = await service.add_entry(session, me, ritual_id, data, now)
    return resource_response(request, RitualOut.from_view(view))


@router.post(
    ONE + "/steps/{step}/finish",
    summary="Finish my current step",
    response_model=RitualOut,
    responses=responses_for(*CHANGE_ERRORS, service.StepNeedsWords, UnprocessableContent),
)
async def rituals_finish(
    request: Request,
    ritual_id: uuid.UUID,
    step: RitualStep,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """`appreciations` and `went_well` after one entry at least; `next_week` with or without
    commitments; the `issue` through `PUT .../issue`. Once both partners finished every
    step, the ritual is completed."""
    view = await service.finish_step(session, me, ritual_id, step, now)
    return resource_response(request, RitualOut.from_view(view))


@router.put(
    ONE + "/issue",
    summary="Choose this week's issue",
    response_model=RitualOut,
    responses=responses_for(*CHANGE_ERRORS, ConversationNotFound, UnprocessableContent),
)
async def rituals_issue(
    request: Request,
    ritual_id: uuid.UUID,
    data: IssueIn,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """Start a speaker-listener conversation on a `topic` (the default), attach one of your
    couple's (`conversation_id`), or `skip`; done once for both partners, by the first to
    reach the step."""
    view = await service.set_issue(session, me, ritual_id, data, now)
    return resource_response(request, RitualOut.from_view(view))


@router.post(
    ONE + "/commitments",
    summary="Commit to something for next week",
    status_code=201,
    response_model=CommitmentOut,
    responses=responses_for(*CHANGE_ERRORS, UnprocessableContent),
)
async def rituals_commit(
    request: Request,
    ritual_id: uuid.UUID,
    data: CommitmentIn,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """In your `next_week` step: a small thing you will do; you own it."""
    made = await commitments.add_commitment(session, me, ritual_id, data, now)
    return resource_response(request, CommitmentOut.from_commitment(made), status_code=201)


@router.post(
    ONE + "/end",
    summary="End a ritual",
    response_model=RitualOut,
    responses=responses_for(*ONE_ERRORS, service.RitualClosed),
)
async def rituals_end(
    request: Request, ritual_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Either partner ends it before both finished; what each wrote is shown to both."""
    view = await service.end_ritual(session, me, ritual_id, now)
    return resource_response(request, RitualOut.from_view(view))


MARK_ERRORS = (
    *COUPLE_ERRORS,
    commitments.CommitmentNotFound,
    commitments.CommitmentNotYours,
    commitments.CommitmentWeekOver,
)


async def _mark(
    request: Request,
    commitment_id: uuid.UUID,
    me: Member,
    session: AsyncSession,
    now: datetime,
    *,
    done: bool,
) -> Response:
    marked = await commitments.mark(session, me, commitment_id, done, now)
    return resource_response(request, CommitmentOut.from_commitment(marked))


@router.put(
    COMMITMENT + "/done",
    summary="Mark my commitment done",
    response_model=CommitmentOut,
    responses=responses_for(*MARK_ERRORS),
)
async def ritual_commitment_done(
    request: Request, commitment_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Your own only (your partner's answers `403`), until your couple's next ritual starts."""
    return await _mark(request, commitment_id, me, session, now, done=True)


@router.delete(
    COMMITMENT + "/done",
    summary="Mark my commitment not done",
    response_model=CommitmentOut,
    responses=responses_for(*MARK_ERRORS),
)
async def ritual_commitment_undone(
    request: Request, commitment_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Not done after all; as marking it done, your own only."""
    return await _mark(request, commitment_id, me, session, now, done=False)
