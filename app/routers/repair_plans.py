"""Trust-repair plans: templates to start from, plans both partners consent to, their steps,
agreements and trust ratings.

A third-party app (a therapist's platform) reaches a couple's plans only while both partners
have allowed it `repair:read`; otherwise they answer 404 to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Now
from app.core.etag import check_if_match, resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.repair import PartnerRole, PlanStatus, RepairPlan, StepOwner, TrustRating
from app.schemas.repair_plans import (
    AgreementCreate,
    AgreementOut,
    AgreementSign,
    AgreementUpdate,
    AgreementVersionOut,
    DeclineRequest,
    PartnerTrustOut,
    PhaseOut,
    PlanCreate,
    PlanOut,
    PlanSummary,
    RolesOut,
    SignatureOut,
    SignOffOut,
    StepCreate,
    StepOrder,
    StepOut,
    StepUpdate,
    TrustRatingIn,
    TrustRatingOut,
    TrustRatingUpdate,
    TrustSeriesOut,
    WeeklyMedianOut,
)
from app.schemas.repair_templates import CatalogTemplateOut
from app.services import repair_access as access
from app.services import repair_agreements as agreements
from app.services import repair_catalog as catalog
from app.services import repair_plans as service
from app.services import repair_steps as steps
from app.services import repair_trust as trust
from app.services.couples import NoCouple
from app.services.repair_access import Caller
from app.services.repair_templates import TemplateNotFound, phases_of

router = APIRouter(prefix="/v1", tags=["repair-plans"])
PLANS = "/couples/me/repair-plans"
Reader = Annotated[Actor, require(Scope.repair_read)]
Writer = Annotated[Actor, require(Scope.repair_write)]
AUTH_ERRORS = (Unauthorized, InsufficientScope)
COUPLE_ERRORS = (*AUTH_ERRORS, NoCouple, access.RepairHidden)
PLAN_ERRORS = (*COUPLE_ERRORS, access.PlanNotFound)
CHANGE_ERRORS = (*PLAN_ERRORS, access.PlanNotActive, UnprocessableContent)
IF_MATCH_ERRORS = (PreconditionFailed, PreconditionRequired)


def _utc(moment: datetime) -> datetime:
    # Fresh from the clock or read back, a time serialises alike (and keeps its ETag) in UTC.
    return moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return _utc(moment) if moment is not None else None


async def _caller(session: AsyncSession, actor: Actor, needed: Collection[str]) -> Caller:
    return await access.resolve_caller(session, actor.require_user(), actor.client_id, needed)


def plan_summary(plan: RepairPlan) -> PlanSummary:
    return PlanSummary(
        id=plan.id,
        title=plan.title,
        status=plan.status,
        template_id=plan.template_id,
        template_version=plan.template_version,
        roles=RolesOut(
            mutual=plan.mutual,
            hurt_user_id=plan.hurt_user_id,
            involved_user_id=plan.involved_user_id,
        ),
        current_phase=plan.phases[plan.current_phase]["key"] if plan.phases else None,
        proposed_by=plan.proposed_by,
        created_at=_utc(plan.created_at),
        updated_at=_utc(plan.updated_at),
        ended_at=_utc_or_none(plan.ended_at),
    )


def step_out(view: steps.StepView, plan: RepairPlan) -> StepOut:
    step = view.step
    return StepOut(
        id=step.id,
        plan_id=step.plan_id,
        phase=step.phase,
        title=step.title,
        description=step.description,
        owner=step.owner,
        owner_user_id=access.owner_user_id(plan, StepOwner(step.owner)),
        due_date=step.due_date,
        status=step.status,
        position=step.position,
        confirmed_by=view.confirmed_by,
        completed_at=_utc_or_none(step.completed_at),
        created_by=step.created_by,
        created_at=_utc(step.created_at),
        updated_at=_utc(step.updated_at),
    )


def agreement_out(view: agreements.AgreementView) -> AgreementOut:
    newest, in_force = view.newest, view.in_force
    return AgreementOut(
        id=view.agreement.id,
        plan_id=view.agreement.plan_id,
        phase=view.agreement.phase,
        status="in_force" if newest.version.in_force_at is not None else "pending",
        version=newest.version.number,
        text=newest.version.text,
        signed_by=newest.signed_by,
        in_force_version=in_force.version.number if in_force else None,
        in_force_text=in_force.version.text if in_force else None,
        versions=[
            AgreementVersionOut(
                number=v.version.number,
                text=v.version.text,
                proposed_by=v.version.proposed_by,
                created_at=_utc(v.version.created_at),
                signatures=[
                    SignatureOut(user_id=s.user_id, signed_at=_utc(s.signed_at))
                    for s in v.signatures
                ],
                in_force_at=_utc_or_none(v.version.in_force_at),
            )
            for v in view.versions
        ],
        created_at=_utc(view.agreement.created_at),
        updated_at=_utc(view.agreement.updated_at),
    )


def plan_out(view: service.PlanView, caller: Caller) -> PlanOut:
    plan = view.plan
    states = ["done"] * plan.current_phase + ["current"]
    finished = plan.status is PlanStatus.completed
    # Private: the decline note reaches its author alone, and only through a first-party app.
    own_note = plan.declined_by == caller.user_id and caller.first_party
    return PlanOut(
        **plan_summary(plan).model_dump(),
        phases=[
            PhaseOut(
                key=phase["key"],
                title=phase["title"],
                description=phase["description"],
                state="done" if finished else (states[i] if i < len(states) else "upcoming"),
            )
            for i, phase in enumerate(plan.phases)
        ],
        allowed_transitions=service.allowed_moves(plan, caller.user_id),
        pending_sign_offs=[
            SignOffOut(move=s.move, user_id=s.user_id, signed_at=_utc(s.signed_at))
            for s in view.sign_offs
        ],
        steps=[step_out(step, plan) for step in view.steps],
        agreements=[agreement_out(agreement) for agreement in view.agreements],
        accepted_at=_utc_or_none(plan.accepted_at),
        paused_at=_utc_or_none(plan.paused_at),
        declined_by=plan.declined_by,
        decline_note=plan.decline_note if own_note else None,
    )


def rating_out(rating: TrustRating, caller: Caller) -> TrustRatingOut:
    return TrustRatingOut(
        id=rating.id,
        user_id=rating.user_id,
        score=rating.score,
        note=trust.visible_note(rating, caller),
        note_shared=rating.note_shared,
        recorded_at=_utc(rating.recorded_at),
        local_date=rating.local_date,
    )


def template_out(item: catalog.PublishedTemplate) -> CatalogTemplateOut:
    version = item.version
    return CatalogTemplateOut(
        id=item.template.id,
        slug=item.template.slug,
        version=version.number,
        title=version.title,
        description=version.description,
        locale=version.locale,
        roles=[PartnerRole(role) for role in version.roles],
        phases=phases_of(version.phases),
    )


async def _plan_response(
    request: Request, session: AsyncSession, plan: RepairPlan, caller: Caller, status: int = 200
) -> Response:
    view = await service.load_view(session, plan)
    headers = {"Location": f"/v1{PLANS}/{plan.id}"} if status == 201 else None
    return resource_response(request, plan_out(view, caller), status_code=status, headers=headers)


# --- templates ---------------------------------------------------------------------------


@router.get(
    "/repair-templates",
    summary="List repair-plan templates",
    response_model=Page[CatalogTemplateOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def repair_templates_list(
    params: PageParams, actor: Reader, session: SessionDep
) -> Page[CatalogTemplateOut]:
    """Published templates, by slug, each in the version members see."""
    window = await catalog.list_published(session, params)
    return Page[CatalogTemplateOut].of(window, template_out)


@router.get(
    "/repair-templates/{template}",
    summary="Get a repair-plan template",
    response_model=CatalogTemplateOut,
    responses=responses_for(*AUTH_ERRORS, TemplateNotFound),
)
async def repair_templates_get(
    request: Request, template: str, actor: Reader, session: SessionDep
) -> Response:
    """A published template by slug or id, with its phases, steps and agreements."""
    return resource_response(request, template_out(await catalog.get_published(session, template)))


# --- plans -------------------------------------------------------------------------------


@router.post(
    PLANS,
    summary="Propose a repair plan",
    status_code=201,
    response_model=PlanOut,
    responses=responses_for(
        *COUPLE_ERRORS, service.PlanAlreadyOpen, service.PartnerMissing, UnprocessableContent
    ),
)
async def repair_plans_create(
    request: Request, data: PlanCreate, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """Propose a plan from a template (copied as it is published now) or a blank one, naming
    who was hurt, or `mutual`. It becomes active only once your partner accepts it. A couple
    has one open plan at a time."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await service.propose(session, caller, data, now)
    return await _plan_response(request, session, plan, caller, status=201)


@router.get(
    PLANS,
    summary="List my couple's repair plans",
    response_model=Page[PlanSummary],
    responses=responses_for(*COUPLE_ERRORS, UnprocessableContent),
)
async def repair_plans_list(
    actor: Reader, session: SessionDep, params: PageParams
) -> Page[PlanSummary]:
    """Newest first, whatever their status."""
    caller = await _caller(session, actor, access.READ)
    window = await service.list_plans(session, caller, params)
    return Page[PlanSummary].of(window, plan_summary)


@router.get(
    PLANS + "/{plan_id}",
    summary="Get a repair plan",
    response_model=PlanOut,
    responses=responses_for(*PLAN_ERRORS),
)
async def repair_plans_get(
    request: Request, plan_id: uuid.UUID, actor: Reader, session: SessionDep
) -> Response:
    """The plan with its phases, steps, agreements, pending sign-offs and the moves you can
    make now."""
    caller = await _caller(session, actor, access.READ)
    plan = await access.get_plan(session, caller, plan_id)
    return await _plan_response(request, session, plan, caller)


async def _move(
    request: Request,
    plan_id: uuid.UUID,
    actor: Actor,
    session: AsyncSession,
    now: datetime,
    move: str,
    note: str | None = None,
) -> Response:
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id, for_change=True)
    if "if-match" in request.headers:  # building the current copy costs queries: only then
        check_if_match(request, plan_out(await service.load_view(session, plan), caller))
    await service.move(session, caller, plan, move, now, note=note)
    return await _plan_response(request, session, plan, caller)


MOVE_RESPONSES = responses_for(*PLAN_ERRORS, service.PlanIllegalTransition, PreconditionFailed)


@router.post(
    PLANS + "/{plan_id}/accept",
    summary="Accept a proposed repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_accept(
    request: Request, plan_id: uuid.UUID, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """proposed → active, by the partner who did not propose it."""
    return await _move(request, plan_id, actor, session, now, "accept")


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
    actor: Writer,
    session: SessionDep,
    now: Now,
    data: DeclineRequest | None = None,
) -> Response:
    """proposed → declined, by the partner who did not propose it. The optional note is
    yours alone: your partner never sees it."""
    note = data.note if data else None
    return await _move(request, plan_id, actor, session, now, "decline", note)


@router.post(
    PLANS + "/{plan_id}/pause",
    summary="Pause a repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_pause(
    request: Request, plan_id: uuid.UUID, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """active → paused, by either partner."""
    return await _move(request, plan_id, actor, session, now, "pause")


@router.post(
    PLANS + "/{plan_id}/resume",
    summary="Resume a paused repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_resume(
    request: Request, plan_id: uuid.UUID, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """paused → active, by either partner."""
    return await _move(request, plan_id, actor, session, now, "resume")


@router.post(
    PLANS + "/{plan_id}/advance",
    summary="Sign off moving to the next phase",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_advance(
    request: Request, plan_id: uuid.UUID, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """Both partners sign off: the first sign-off is recorded (see `pending_sign_offs`), the
    second moves the plan to its next phase."""
    return await _move(request, plan_id, actor, session, now, "advance")


@router.post(
    PLANS + "/{plan_id}/complete",
    summary="Sign off completing the repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_complete(
    request: Request, plan_id: uuid.UUID, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """In the last phase, both partners sign off: the second sign-off completes the plan."""
    return await _move(request, plan_id, actor, session, now, "complete")


@router.post(
    PLANS + "/{plan_id}/abandon",
    summary="End a repair plan",
    response_model=PlanOut,
    responses=MOVE_RESPONSES,
)
async def repair_plans_abandon(
    request: Request, plan_id: uuid.UUID, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """Either partner can end an open plan at any time; no reason is asked or recorded."""
    return await _move(request, plan_id, actor, session, now, "abandon")


# --- steps -------------------------------------------------------------------------------


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
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """While the plan is active; in the current phase unless another is named."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id, for_change=True)
    view = await steps.add_step(session, caller, plan, data, now)
    location = f"/v1{PLANS}/{plan.id}/steps/{view.step.id}"
    return resource_response(
        request, step_out(view, plan), status_code=201, headers={"Location": location}
    )


@router.put(
    PLANS + "/{plan_id}/steps/order",
    summary="Reorder the steps",
    response_model=list[StepOut],
    responses=responses_for(*CHANGE_ERRORS),
)
async def repair_steps_reorder(
    plan_id: uuid.UUID, data: StepOrder, actor: Writer, session: SessionDep, now: Now
) -> list[StepOut]:
    """Send every step of the plan once, in the order you want them."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id, for_change=True)
    await steps.reorder_steps(session, plan, data.step_ids, now)
    return [step_out(view, plan) for view in await steps.load_steps(session, plan.id)]


@router.get(
    PLANS + "/{plan_id}/steps/{step_id}",
    summary="Get a step",
    response_model=StepOut,
    responses=responses_for(*PLAN_ERRORS, steps.StepNotFound),
)
async def repair_steps_get(
    request: Request, plan_id: uuid.UUID, step_id: uuid.UUID, actor: Reader, session: SessionDep
) -> Response:
    caller = await _caller(session, actor, access.READ)
    plan = await access.get_plan(session, caller, plan_id)
    return resource_response(request, step_out(await steps.get_step(session, plan, step_id), plan))


@router.patch(
    PLANS + "/{plan_id}/steps/{step_id}",
    summary="Change a step",
    response_model=StepOut,
    responses=responses_for(*CHANGE_ERRORS, *IF_MATCH_ERRORS, steps.StepNotFound, steps.StepDone),
)
async def repair_steps_update(
    request: Request,
    plan_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepUpdate,
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """`If-Match` is required: your partner may have changed it meanwhile."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id, for_change=True)
    view = await steps.get_step(session, plan, step_id, for_change=True)
    check_if_match(request, step_out(view, plan), required=True)
    view = await steps.update_step(session, plan, view, data, now)
    return resource_response(request, step_out(view, plan))


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
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """The partner a step is for completes it; a step for `both` is done once each of you has
    confirmed it."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id)
    view = await steps.get_step(session, plan, step_id, for_change=True)
    view = await steps.complete_step(session, caller, plan, view, now)
    return resource_response(request, step_out(view, plan))


# --- agreements --------------------------------------------------------------------------


@router.post(
    PLANS + "/{plan_id}/agreements",
    summary="Propose an agreement",
    status_code=201,
    response_model=AgreementOut,
    responses=responses_for(*CHANGE_ERRORS),
)
async def repair_agreements_create(
    request: Request,
    plan_id: uuid.UUID,
    data: AgreementCreate,
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """Proposing it signs it for you; it is in force once your partner signs it too."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id, for_change=True)
    view = await agreements.add_agreement(session, caller, plan, data, now)
    location = f"/v1{PLANS}/{plan.id}/agreements/{view.agreement.id}"
    return resource_response(
        request, agreement_out(view), status_code=201, headers={"Location": location}
    )


@router.get(
    PLANS + "/{plan_id}/agreements/{agreement_id}",
    summary="Get an agreement",
    response_model=AgreementOut,
    responses=responses_for(*PLAN_ERRORS, agreements.AgreementNotFound),
)
async def repair_agreements_get(
    request: Request,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    actor: Reader,
    session: SessionDep,
) -> Response:
    """The agreement with every wording it had and who signed each."""
    caller = await _caller(session, actor, access.READ)
    plan = await access.get_plan(session, caller, plan_id)
    view = await agreements.get_agreement(session, plan, agreement_id)
    return resource_response(request, agreement_out(view))


@router.patch(
    PLANS + "/{plan_id}/agreements/{agreement_id}",
    summary="Change an agreement's wording",
    response_model=AgreementOut,
    responses=responses_for(*CHANGE_ERRORS, *IF_MATCH_ERRORS, agreements.AgreementNotFound),
)
async def repair_agreements_update(
    request: Request,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    data: AgreementUpdate,
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """A new wording, signed by you; it needs your partner's signature to come into force.
    Meanwhile the last wording you both signed stays in force. `If-Match` is required."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id)
    view = await agreements.get_agreement(session, plan, agreement_id, for_change=True)
    check_if_match(request, agreement_out(view), required=True)
    view = await agreements.change_text(session, caller, plan, view, data.text, now)
    return resource_response(request, agreement_out(view))


@router.post(
    PLANS + "/{plan_id}/agreements/{agreement_id}/sign",
    summary="Sign an agreement",
    response_model=AgreementOut,
    responses=responses_for(
        *CHANGE_ERRORS, agreements.AgreementNotFound, agreements.AgreementChanged
    ),
)
async def repair_agreements_sign(
    request: Request,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    data: AgreementSign,
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """Sign the newest wording, named by its `version` so that you sign what you read."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id)
    view = await agreements.get_agreement(session, plan, agreement_id, for_change=True)
    view = await agreements.sign(session, caller, plan, view, data.version, now)
    return resource_response(request, agreement_out(view))


# --- trust ratings -----------------------------------------------------------------------


@router.post(
    PLANS + "/{plan_id}/trust-ratings",
    summary="Record a trust rating",
    status_code=201,
    response_model=TrustRatingOut,
    responses=responses_for(*CHANGE_ERRORS),
)
async def repair_trust_ratings_create(
    request: Request,
    plan_id: uuid.UUID,
    data: TrustRatingIn,
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """How safe and trusting you feel now, 0 to 10, while the plan is active or paused. Your
    partner sees the score; the note only if you share it."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id)
    rating = await trust.record_rating(session, caller, plan, data, now)
    return resource_response(request, rating_out(rating, caller), status_code=201)


@router.get(
    PLANS + "/{plan_id}/trust-ratings",
    summary="Get the trust ratings of a plan",
    response_model=TrustSeriesOut,
    responses=responses_for(*PLAN_ERRORS),
)
async def repair_trust_ratings_get(
    request: Request, plan_id: uuid.UUID, actor: Reader, session: SessionDep
) -> Response:
    """Each partner's ratings, oldest first, and their weekly medians (weeks from Monday, in
    your couple's time zone). Your partner's notes appear only where they shared them."""
    caller = await _caller(session, actor, access.READ)
    plan = await access.get_plan(session, caller, plan_id)
    series = await trust.plan_series(session, caller, plan)
    body = TrustSeriesOut(
        plan_id=plan.id,
        timezone=caller.couple.timezone,
        partners=[
            PartnerTrustOut(
                user_id=one.user_id,
                ratings=[rating_out(rating, caller) for rating in one.ratings],
                weekly_medians=[
                    WeeklyMedianOut(week_start=w.week_start, median=w.median, count=w.count)
                    for w in one.weekly
                ],
            )
            for one in series
        ],
    )
    return resource_response(request, body)


@router.patch(
    PLANS + "/{plan_id}/trust-ratings/{rating_id}",
    summary="Share or unshare a trust rating's note",
    response_model=TrustRatingOut,
    responses=responses_for(*PLAN_ERRORS, trust.RatingNotFound, UnprocessableContent),
)
async def repair_trust_ratings_update(
    request: Request,
    plan_id: uuid.UUID,
    rating_id: uuid.UUID,
    data: TrustRatingUpdate,
    actor: Writer,
    session: SessionDep,
) -> Response:
    """Only your own ratings; the score never changes."""
    caller = await _caller(session, actor, access.WRITE)
    plan = await access.get_plan(session, caller, plan_id)
    rating = await trust.share_note(session, caller, plan, rating_id, data.share_note)
    return resource_response(request, rating_out(rating, caller))
