"""Repair plans: proposing one, and the state machine both partners move it through.

A couple has at most one open plan (proposed, active or paused). Nothing is active without
both partners' consent: one proposes, the other accepts. Either may pause, resume, or end
the plan (`abandon`) at any time, with no reason asked. Moving to the next phase and
completing need both: the first sign-off is recorded, the second performs the move.

The state machine (`MACHINE`): status → move → (new status, who may make it).

    proposed  accept    → active     the partner who did not propose
    proposed  decline   → declined   the partner who did not propose (optional private note)
    proposed  abandon   → abandoned  either (withdrawing the proposal)
    active    pause     → paused     either
    active    advance   → active     both sign off; only before the last phase
    active    complete  → completed  both sign off; only in the last phase
    active    abandon   → abandoned  either
    paused    resume    → active     either
    paused    abandon   → abandoned  either
    declined, completed, abandoned: no moves

An illegal move is a 409 problem naming `current_status` and the `allowed_transitions` the
caller has. Pending sign-offs are dropped whenever the plan makes any move. The first
sign-off of a move that needs both emits `repair_plan.signed_off` (ids and the move only), so
the other partner's app can say their partner is ready.

What a caller reads of a plan is decided here (`PlanView`): the decline note reaches the
partner who wrote it alone, and only through a first-party app.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import Preferences
from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, FieldError, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.repair import PartnerRole, PlanStatus, RepairPlan, RepairSignOff
from app.schemas.repair_plans import PlanCreate
from app.schemas.repair_templates import PhaseTemplate
from app.services import repair_agreements, repair_steps
from app.services.repair_access import (
    READ,
    WRITE,
    Caller,
    Guard,
    open_plan,
    record_event,
    resolve_caller,
)
from app.services.repair_catalog import get_published
from app.services.repair_templates import DEFAULT_PHASES, TemplateNotFound, phases_of
from app.services.template_translations import words_for

DEFAULT_TITLE = "Our repair plan"
# While a plan is open and under way, the daily rotation spares sensitive prompts.
UNDER_WAY: Final = frozenset({PlanStatus.active, PlanStatus.paused})


class Who(StrEnum):
    either = "either"
    responder = "responder"
    """The partner who did not propose."""
    both = "both"
    """Each partner signs off; the second sign-off makes the move."""


@dataclass(frozen=True, slots=True)
class Rule:
    to: PlanStatus
    who: Who
    event: str


MACHINE: Final[dict[PlanStatus, dict[str, Rule]]] = {
    PlanStatus.proposed: {
        "accept": Rule(PlanStatus.active, Who.responder, "repair_plan.accepted"),
        "decline": Rule(PlanStatus.declined, Who.responder, "repair_plan.declined"),
        "abandon": Rule(PlanStatus.abandoned, Who.either, "repair_plan.abandoned"),
    },
    PlanStatus.active: {
        "pause": Rule(PlanStatus.paused, Who.either, "repair_plan.paused"),
        "advance": Rule(PlanStatus.active, Who.both, "repair_plan.phase_advanced"),
        "complete": Rule(PlanStatus.completed, Who.both, "repair_plan.completed"),
        "abandon": Rule(PlanStatus.abandoned, Who.either, "repair_plan.abandoned"),
    },
    PlanStatus.paused: {
        "resume": Rule(PlanStatus.active, Who.either, "repair_plan.resumed"),
        "abandon": Rule(PlanStatus.abandoned, Who.either, "repair_plan.abandoned"),
    },
    PlanStatus.declined: {},
    PlanStatus.completed: {},
    PlanStatus.abandoned: {},
}
ENDED: Final = frozenset(status for status, moves in MACHINE.items() if not moves)


class PlanIllegalTransition(Conflict):
    slug = "repair-plan-illegal-transition"
    title = "The plan's status does not allow this move"


class PlanAlreadyOpen(Conflict):
    slug = "repair-plan-already-open"
    title = "Your couple already has an open repair plan"


class PartnerMissing(Conflict):
    slug = "repair-plan-needs-partner"
    title = "A repair plan needs both partners"


class NoPublishedTemplate(NotFound):
    """`template` names no published template (a slug or id the schema cannot know)."""

    slug = "repair-template-not-found"
    title = "No published repair template has this slug or id"


class NotAPartner(NotFound):
    """`hurt_user_id` names nobody of the caller's couple: no such partner (an id the schema
    cannot know in advance, so a 404 like any other unknown id)."""

    slug = "partner-not-found"
    title = "No partner of your couple has this id"


@dataclass
class PlanView:
    """A plan as one caller may read it."""

    plan: RepairPlan
    steps: list[repair_steps.StepView]
    agreements: list[repair_agreements.AgreementView]
    sign_offs: list[RepairSignOff]
    allowed_transitions: list[str]
    """The moves this caller can make now."""
    decline_note: str | None
    """Set only for the partner who declined, through a first-party app."""


def _phase_allows(plan: RepairPlan, move: str) -> bool:
    last = len(plan.phases) - 1
    if move == "advance":
        return plan.current_phase < last
    if move == "complete":
        return plan.current_phase >= last
    return True


def allowed_moves(plan: RepairPlan, user_id: uuid.UUID) -> list[str]:
    """The moves this partner can make now."""
    return [
        move
        for move, rule in MACHINE[plan.status].items()
        if (rule.who is not Who.responder or user_id != plan.proposed_by)
        and _phase_allows(plan, move)
    ]


async def has_active_plan(session: AsyncSession, couple_id: uuid.UUID) -> bool:
    """Whether the couple's plan is under way: active, or paused (a pause is a breather in
    the repair, not its end)."""
    found = await session.scalar(
        select(RepairPlan.id)
        .where(RepairPlan.couple_id == couple_id, RepairPlan.status.in_(UNDER_WAY))
        .limit(1)
    )
    return found is not None


async def _load_view(session: AsyncSession, caller: Caller, plan: RepairPlan) -> PlanView:
    sign_offs = await session.scalars(
        select(RepairSignOff)
        .where(RepairSignOff.plan_id == plan.id)
        .order_by(RepairSignOff.signed_at, RepairSignOff.id)
    )
    own_note = plan.declined_by == caller.user_id and caller.first_party
    return PlanView(
        plan=plan,
        steps=await repair_steps.load_steps(session, plan),
        agreements=await repair_agreements.load_agreements(session, plan.id),
        sign_offs=list(sign_offs),
        allowed_transitions=allowed_moves(plan, caller.user_id),
        decline_note=plan.decline_note if own_note else None,
    )


async def get_plan(session: AsyncSession, me: Member, plan_id: uuid.UUID) -> PlanView:
    """The plan with its steps, agreements, pending sign-offs and the caller's moves."""
    caller, plan = await open_plan(session, me, plan_id, READ)
    return await _load_view(session, caller, plan)


async def list_plans(session: AsyncSession, me: Member, params: PageQuery) -> Window[RepairPlan]:
    """The couple's plans, newest first."""
    caller = await resolve_caller(session, me, READ)
    return await paginate(
        session,
        select(RepairPlan).where(RepairPlan.couple_id == caller.couple.id),
        order=(RepairPlan.created_at, RepairPlan.id),
        params=params,
        descending=True,
    )


async def _template_phases(
    data: PlanCreate, session: AsyncSession, languages: Preferences
) -> tuple[list[PhaseTemplate], uuid.UUID | None, int | None, str]:
    if data.template is None:
        return phases_of(DEFAULT_PHASES), None, None, DEFAULT_TITLE
    try:
        published = await get_published(session, data.template)
    except TemplateNotFound:
        raise NoPublishedTemplate(
            "Choose a published repair template, by slug or id, or leave it out.",
            errors=[
                FieldError(pointer="#/template", detail="is not a published template").model_dump(
                    exclude_none=True
                )
            ],
        ) from None
    version = published.version
    wanted = PartnerRole.mutual if data.mutual else PartnerRole.hurt
    if wanted.value not in version.roles:
        kind = "one of you was hurt" if data.mutual else "both of you were hurt"
        raise UnprocessableContent(
            f"This template is for when {kind}.",
            errors=[FieldError(pointer="#/mutual", detail="does not fit this template's roles")],
        )
    words = words_for(version, version.phases, languages)
    return words.phases, published.template.id, version.number, words.title


async def propose(
    session: AsyncSession,
    me: Member,
    data: PlanCreate,
    now: datetime,
    wanted: Preferences = Preferences(),
) -> PlanView:
    """A plan from a template (copied at its published version, in the words `wanted`) or
    blank, `proposed` until the other partner accepts it."""
    caller = await resolve_caller(session, me, WRITE)
    partner = caller.partner_id
    if partner is None:
        raise PartnerMissing("Your partner needs to join your couple before you plan together.")
    if data.hurt_user_id is not None and data.hurt_user_id not in (caller.user_id, partner):
        raise NotAPartner(
            "Name one of the two partners of your couple.",
            errors=[
                FieldError(
                    pointer="#/hurt_user_id", detail="is not a partner of your couple"
                ).model_dump(exclude_none=True)
            ],
        )
    phases, template_id, template_version, title = await _template_phases(data, session, wanted)
    hurt = data.hurt_user_id
    involved = None if hurt is None else (partner if hurt == caller.user_id else caller.user_id)
    plan = RepairPlan(
        id=uuid.uuid4(),
        couple_id=caller.couple.id,
        open_couple_id=caller.couple.id,
        template_id=template_id,
        template_version=template_version,
        title=data.title or title,
        status=PlanStatus.proposed,
        mutual=data.mutual,
        hurt_user_id=hurt,
        involved_user_id=involved,
        proposed_by=caller.user_id,
        phases=[{"key": p.key, "title": p.title, "description": p.description} for p in phases],
        current_phase=0,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the open-plan unique column: one open plan per couple
        raise PlanAlreadyOpen(
            "Finish, or end, your couple's open plan before proposing another."
        ) from None
    copies = repair_agreements.copy_agreements(plan, phases, now)
    session.add_all(repair_steps.copy_steps(plan, phases, now))
    session.add_all(agreement for agreement, _ in copies)
    await session.flush()
    session.add_all(version for _, version in copies)
    await session.flush()
    await record_event(
        session, "repair_plan.proposed", caller, plan_id=plan.id, template_id=template_id
    )
    return await _load_view(session, caller, plan)


async def move(
    session: AsyncSession,
    me: Member,
    plan_id: uuid.UUID,
    move: str,
    now: datetime,
    *,
    note: str | None = None,
    guard: Guard[PlanView] | None = None,
) -> PlanView:
    """Make a move of the state machine, or record the caller's sign-off when it needs both.
    `note` is the decliner's private note; `guard` sees the current copy first and may
    refuse the move."""
    caller, plan = await open_plan(session, me, plan_id, WRITE, for_change=True)
    if guard is not None:
        guard(await _load_view(session, caller, plan))
    await _make_move(session, caller, plan, move, now, note)
    return await _load_view(session, caller, plan)


async def _make_move(
    session: AsyncSession,
    caller: Caller,
    plan: RepairPlan,
    move: str,
    now: datetime,
    note: str | None,
) -> bool:
    """True when the move was made, False when it awaits the other partner's sign-off."""
    allowed = allowed_moves(plan, caller.user_id)
    if move not in allowed:
        raise PlanIllegalTransition(
            f"You cannot {move} a plan that is {plan.status.value}"
            + (f"; you can: {', '.join(allowed)}." if allowed else "; it cannot move."),
            current_status=plan.status.value,
            allowed_transitions=allowed,
        )
    rule = MACHINE[plan.status][move]
    if rule.who is Who.both and not await _other_signed_off(session, caller, plan, move, now):
        return False
    await session.execute(delete(RepairSignOff).where(RepairSignOff.plan_id == plan.id))
    if move == "accept":
        plan.accepted_at = now
    elif move == "decline":
        plan.declined_by = caller.user_id
        plan.decline_note = note
    elif move == "pause":
        plan.paused_at = now
    elif move == "resume":
        plan.paused_at = None
    elif move == "advance":
        plan.current_phase += 1
    plan.status = rule.to
    if rule.to in ENDED:
        plan.ended_at = now
        plan.open_couple_id = None
    plan.updated_at = now
    await session.flush()
    data: dict[str, object] = {"plan_id": plan.id}
    if move == "advance":
        data["phase_index"] = plan.current_phase
    await record_event(session, rule.event, caller, **data)
    return True


async def _other_signed_off(
    session: AsyncSession, caller: Caller, plan: RepairPlan, move: str, now: datetime
) -> bool:
    """Whether the partner already signed off this move; if not, record the caller's."""
    signed = set(
        await session.scalars(
            select(RepairSignOff.user_id).where(
                RepairSignOff.plan_id == plan.id, RepairSignOff.move == move
            )
        )
    )
    if caller.partner_id is not None and caller.partner_id in signed:
        return True
    if caller.user_id not in signed:
        session.add(
            RepairSignOff(plan_id=plan.id, move=move, user_id=caller.user_id, signed_at=now)
        )
        plan.updated_at = now
        await session.flush()
        await record_event(session, "repair_plan.signed_off", caller, plan_id=plan.id, move=move)
    return False
