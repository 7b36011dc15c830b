"""The steps of a couple's repair plan: adding, ordering, changing and completing them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.core.clock import Now
from app.core.etag import check_if_match, resource_response
from app.core.problems import (
    PreconditionFailed,
    PreconditionRequired,
    responses_for,
)
from app.db import SessionDep
from app.routers.repair_http import CHANGE_ERRORS, PLAN_ERRORS, PLANS, Reader, Writer
from app.schemas.repair_steps import StepCreate, StepOrder, StepOut, StepUpdate
from app.services import repair_access as access
from app.services import repair_steps as steps

router = APIRouter(prefix="/v1", tags=["repair-plans"])


@router.post(
    PLANS + "/{plan_id}/steps",
    summary="Add a step",
    status_code=201,
    response_model=StepOut,
    responses=responses_for(*CHANGE_ERRORS),
)
async def repair_steps_create(
    request: Request,
    plan_id: uuid.UUID,
    data: StepCreate,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """While the plan is active; in the current phase unless another is named."""
    view = await steps.add_step(session, me, plan_id, data, now)
    location = f"/v1{PLANS}/{plan_id}/steps/{view.step.id}"
    return resource_response(
        request, StepOut.from_view(view), status_code=201, headers={"Location": location}
    )


@router.put(
    PLANS + "/{plan_id}/steps/order",
    summary="Reorder the steps",
    response_model=list[StepOut],
    responses=responses_for(*CHANGE_ERRORS),
)
async def repair_steps_reorder(
    plan_id: uuid.UUID, data: StepOrder, me: Writer, session: SessionDep, now: Now
) -> list[StepOut]:
    """Send every step of the plan once, in the order you want them."""
    views = await steps.reorder_steps(session, me, plan_id, data.step_ids, now)
    return [StepOut.from_view(view) for view in views]


@router.get(
    PLANS + "/{plan_id}/steps/{step_id:uuid}",
    summary="Get a step",
    description="One step of a repair plan, with its owner, due date and completion.",
    response_model=StepOut,
    responses=responses_for(*PLAN_ERRORS, steps.StepNotFound),
)
async def repair_steps_get(
    request: Request, plan_id: uuid.UUID, step_id: uuid.UUID, me: Reader, session: SessionDep
) -> Response:
    view = await steps.get_step(session, me, plan_id, step_id)
    return resource_response(request, StepOut.from_view(view))


@router.patch(
    PLANS + "/{plan_id}/steps/{step_id:uuid}",
    summary="Change a step",
    response_model=StepOut,
    responses=responses_for(
        *CHANGE_ERRORS,
        PreconditionFailed,
        PreconditionRequired,
        steps.StepNotFound,
        steps.StepDone,
    ),
)
async def repair_steps_update(
    request: Request,
    plan_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepUpdate,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """`If-Match` is required: your partner may have changed it meanwhile."""

    def if_match(current: steps.StepView) -> None:
        check_if_match(request, StepOut.from_view(current), required=True)

    view = await steps.update_step(session, me, plan_id, step_id, data, now, guard=if_match)
    return resource_response(request, StepOut.from_view(view))


@router.post(
    PLANS + "/{plan_id}/steps/{step_id}/complete",
    summary="Complete a step",
    response_model=StepOut,
    responses=responses_for(
        *PLAN_ERRORS, access.PlanNotActive, steps.StepNotFound, steps.NotStepOwner
    ),
)
async def repair_steps_complete(
    request: Request,
    plan_id: uuid.UUID,
    step_id: uuid.UUID,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """The partner a step is for completes it; a step for `both` is done once each of you has
    confirmed it."""
    view = await steps.complete_step(session, me, plan_id, step_id, now)
    return resource_response(request, StepOut.from_view(view))
