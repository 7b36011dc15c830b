"""The steps of a repair plan: who owns them, completing them, and changing them.

A step owned by `hurt` or `involved` is completed by that partner; a `both` step is done once
each partner has confirmed it. Steps are added, edited and reordered while the plan is
active; a done step is kept as it was. Each operation takes the signed-in `Member` and a plan
id, and finds the plan within what that member's client may reach.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict, FieldError, Forbidden, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.repair import (
    PlanStatus,
    RepairPlan,
    RepairStep,
    RepairStepConfirmation,
    StepOwner,
    StepStatus,
)
from app.schemas.repair_steps import StepCreate, StepUpdate
from app.schemas.repair_templates import PhaseTemplate
from app.services.repair_access import (
    READ,
    WRITE,
    Guard,
    open_plan,
    owner_user_id,
    record_event,
    require_status,
)


class StepNotFound(NotFound):
    slug = "repair-step-not-found"
    title = "The plan has no step with this id"


class NotStepOwner(Forbidden):
    slug = "not-step-owner"
    title = "This step is your partner's to complete"


class StepDone(Conflict):
    slug = "repair-step-done"
    title = "The step is done and can no longer change"


@dataclass
class StepView:
    step: RepairStep
    owner_user_id: uuid.UUID | None
    """The partner the step's owner role names; None for `both`."""
    confirmed_by: list[uuid.UUID] = field(default_factory=list)


def _view(plan: RepairPlan, step: RepairStep) -> StepView:
    return StepView(step, owner_user_id(plan, StepOwner(step.owner)))


def copy_steps(plan: RepairPlan, phases: list[PhaseTemplate], now: datetime) -> list[RepairStep]:
    """The template's suggested steps as the plan's own, in phase order."""
    steps = [(phase.key, suggested) for phase in phases for suggested in phase.steps]
    return [
        RepairStep(
            plan_id=plan.id,
            phase=key,
            title=suggested.title,
            description=suggested.description,
            owner=suggested.owner,
            position=position,
            created_at=now,
            updated_at=now,
        )
        for position, (key, suggested) in enumerate(steps)
    ]


async def load_steps(session: AsyncSession, plan: RepairPlan) -> list[StepView]:
    steps = list(
        await session.scalars(
            select(RepairStep)
            .where(RepairStep.plan_id == plan.id)
            .order_by(RepairStep.position, RepairStep.created_at, RepairStep.id)
        )
    )
    return await _with_confirmations(session, plan, steps)


async def _with_confirmations(
    session: AsyncSession, plan: RepairPlan, steps: list[RepairStep]
) -> list[StepView]:
    views = {step.id: _view(plan, step) for step in steps}
    if views:
        rows = await session.execute(
            select(RepairStepConfirmation.step_id, RepairStepConfirmation.user_id)
            .where(RepairStepConfirmation.step_id.in_(list(views)))
            .order_by(RepairStepConfirmation.confirmed_at, RepairStepConfirmation.id)
        )
        for step_id, user_id in rows:
            views[step_id].confirmed_by.append(user_id)
    return list(views.values())


async def _find_step(
    session: AsyncSession, plan: RepairPlan, step_id: uuid.UUID, *, for_change: bool = False
) -> StepView:
    statement = select(RepairStep).where(RepairStep.id == step_id, RepairStep.plan_id == plan.id)
    if for_change:
        statement = statement.with_for_update()
    step = await session.scalar(statement)
    if step is None:
        raise StepNotFound("This plan has no step with this id.")
    return (await _with_confirmations(session, plan, [step]))[0]


async def get_step(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, step_id: uuid.UUID
) -> StepView:
    _, plan = await open_plan(session, me, plan_id, READ)
    return await _find_step(session, plan, step_id)


def _check_fit(plan: RepairPlan, phase: str | None, owner: StepOwner | None) -> None:
    errors = []
    if phase is not None and phase not in {p["key"] for p in plan.phases}:
        errors.append(FieldError(pointer="#/phase", detail="is not a phase of this plan"))
    if plan.mutual and owner is not None and owner is not StepOwner.both:
        errors.append(
            FieldError(pointer="#/owner", detail="must be `both`: in a mutual plan both were hurt")
        )
    if errors:
        raise UnprocessableContent("The step does not fit this plan.", errors=errors)


async def add_step(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, data: StepCreate, now: datetime
) -> StepView:
    """While the plan is active; in its current phase unless another is named."""
    caller, plan = await open_plan(session, me, plan_id, WRITE, for_change=True)
    require_status(plan, PlanStatus.active)
    _check_fit(plan, data.phase, data.owner)
    last = await session.scalar(
        select(func.max(RepairStep.position)).where(RepairStep.plan_id == plan.id)
    )
    step = RepairStep(
        plan_id=plan.id,
        phase=data.phase or plan.phases[plan.current_phase]["key"],
        title=data.title,
        description=data.description,
        owner=data.owner,
        due_date=data.due_date,
        position=(last + 1) if last is not None else 0,
        created_by=caller.user_id,
        written_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(step)
    await session.flush()
    return _view(plan, step)


async def update_step(
    session: AsyncSession,
    me: Member,
    plan_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepUpdate,
    now: datetime,
    *,
    guard: Guard[StepView] | None = None,
) -> StepView:
    """Change a step; `guard` sees the current copy first and may refuse the change."""
    _, plan = await open_plan(session, me, plan_id, WRITE, for_change=True)
    view = await _find_step(session, plan, step_id, for_change=True)
    if guard is not None:
        guard(view)
    require_status(plan, PlanStatus.active)
    wanted: dict[str, Any] = {
        name: value
        for name, value in data.model_dump(exclude_unset=True).items()
        # Only the due date can be cleared; null elsewhere means "unchanged".
        if value is not None or name == "due_date"
    }
    step = view.step
    changes = {name: value for name, value in wanted.items() if getattr(step, name) != value}
    if not changes:
        return view
    if step.status is StepStatus.done:
        raise StepDone("A done step is kept as it was; add a new step instead.")
    _check_fit(plan, changes.get("phase"), changes.get("owner"))
    for name, value in changes.items():
        setattr(step, name, value)
    if "title" in changes or "description" in changes:
        step.written_by = me.user_id  # their words now: sealed under their data key
    step.updated_at = now
    await session.flush()
    view.owner_user_id = owner_user_id(plan, StepOwner(step.owner))
    return view


async def reorder_steps(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, step_ids: list[uuid.UUID], now: datetime
) -> list[StepView]:
    """Every step of the plan, once each, in the new order; returns them in that order."""
    _, plan = await open_plan(session, me, plan_id, WRITE, for_change=True)
    require_status(plan, PlanStatus.active)
    steps = {
        step.id: step
        for step in await session.scalars(select(RepairStep).where(RepairStep.plan_id == plan.id))
    }
    if len(step_ids) != len(set(step_ids)) or set(step_ids) != set(steps):
        raise UnprocessableContent(
            "List every step of the plan once, in the order you want.",
            errors=[FieldError(pointer="#/step_ids", detail="is not the plan's steps, once each")],
        )
    for position, step_id in enumerate(step_ids):
        if steps[step_id].position != position:
            steps[step_id].position = position
            steps[step_id].updated_at = now
    await session.flush()
    return await load_steps(session, plan)


async def complete_step(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, step_id: uuid.UUID, now: datetime
) -> StepView:
    """Confirm a step is done; the owner completes it, each partner confirms a `both` step.
    Confirming again changes nothing."""
    caller, plan = await open_plan(session, me, plan_id, WRITE)
    view = await _find_step(session, plan, step_id, for_change=True)
    require_status(plan, PlanStatus.active)
    step = view.step
    if step.owner is not StepOwner.both and view.owner_user_id != caller.user_id:
        raise NotStepOwner("Only the partner this step is for can complete it.")
    if step.status is StepStatus.done or caller.user_id in view.confirmed_by:
        return view
    session.add(RepairStepConfirmation(step_id=step.id, user_id=caller.user_id, confirmed_at=now))
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the same partner confirmed twice at once
        return await _find_step(session, plan, step.id)
    view.confirmed_by.append(caller.user_id)
    partners = {caller.user_id, caller.partner_id}
    if step.owner is not StepOwner.both or partners <= set(view.confirmed_by):
        step.status = StepStatus.done
        step.completed_at = now
        step.updated_at = now
        await session.flush()
        await record_event(
            session, "repair_step.completed", caller, plan_id=plan.id, step_id=step.id
        )
    return view
