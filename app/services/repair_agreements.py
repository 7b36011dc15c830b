"""Agreements of a repair plan: proposed by either partner, in force once both have signed.

Each wording is a version. Proposing an agreement or changing its text adds a version
signed by its author alone; it comes into force when the other partner signs it too. Until
then the last wording both signed stays in force, so nobody can void an agreement on their
own by editing it. Every version and signature is kept. Each operation takes the signed-in
`Member` and a plan id, and finds the plan within what that member's client may reach.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict, FieldError, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.repair import (
    PlanStatus,
    RepairAgreement,
    RepairAgreementVersion,
    RepairPlan,
    RepairSignature,
)
from app.schemas.repair_agreements import AgreementCreate
from app.schemas.repair_templates import PhaseTemplate
from app.services.repair_access import (
    READ,
    WRITE,
    Caller,
    Guard,
    open_plan,
    record_event,
    require_status,
)


class AgreementNotFound(NotFound):
    slug = "repair-agreement-not-found"
    title = "The plan has no agreement with this id"


class AgreementChanged(Conflict):
    slug = "repair-agreement-changed"
    title = "The agreement's wording changed"


@dataclass
class VersionView:
    version: RepairAgreementVersion
    signatures: list[RepairSignature] = field(default_factory=list)

    @property
    def signed_by(self) -> list[uuid.UUID]:
        return [signature.user_id for signature in self.signatures]


@dataclass
class AgreementView:
    agreement: RepairAgreement
    versions: list[VersionView] = field(default_factory=list)
    """Oldest first; the last one is the newest wording."""

    @property
    def newest(self) -> VersionView:
        return self.versions[-1]

    @property
    def in_force(self) -> VersionView | None:
        signed = [v for v in self.versions if v.version.in_force_at is not None]
        return signed[-1] if signed else None


def copy_agreements(
    plan: RepairPlan, phases: list[PhaseTemplate], now: datetime
) -> list[tuple[RepairAgreement, RepairAgreementVersion]]:
    """The template's suggested agreements, unsigned, as the plan's own."""
    texts = [(phase.key, text) for phase in phases for text in phase.agreements]
    copies = []
    for position, (key, text) in enumerate(texts):
        agreement = RepairAgreement(
            id=uuid.uuid4(),
            plan_id=plan.id,
            phase=key,
            position=position,
            created_at=now,
            updated_at=now,
        )
        version = RepairAgreementVersion(
            agreement_id=agreement.id, number=1, text=text, created_at=now
        )
        copies.append((agreement, version))
    return copies


async def load_agreements(
    session: AsyncSession, plan_id: uuid.UUID, agreement_id: uuid.UUID | None = None
) -> list[AgreementView]:
    statement = select(RepairAgreement).where(RepairAgreement.plan_id == plan_id)
    if agreement_id is not None:
        statement = statement.where(RepairAgreement.id == agreement_id)
    agreements = await session.scalars(
        statement.order_by(RepairAgreement.position, RepairAgreement.created_at)
    )
    views = {a.id: AgreementView(a) for a in agreements}
    if not views:
        return []
    versions: dict[uuid.UUID, VersionView] = {}
    for version in await session.scalars(
        select(RepairAgreementVersion)
        .where(RepairAgreementVersion.agreement_id.in_(list(views)))
        .order_by(RepairAgreementVersion.number)
    ):
        versions[version.id] = VersionView(version)
        views[version.agreement_id].versions.append(versions[version.id])
    for signature in await session.scalars(
        select(RepairSignature)
        .where(RepairSignature.version_id.in_(list(versions)))
        .order_by(RepairSignature.signed_at, RepairSignature.id)
    ):
        versions[signature.version_id].signatures.append(signature)
    return list(views.values())


async def _find_agreement(
    session: AsyncSession,
    plan: RepairPlan,
    agreement_id: uuid.UUID,
    *,
    for_change: bool = False,
) -> AgreementView:
    if for_change:  # lock the agreement so two signatures or edits queue
        await session.scalar(
            select(RepairAgreement.id)
            .where(RepairAgreement.id == agreement_id, RepairAgreement.plan_id == plan.id)
            .with_for_update()
        )
    found = await load_agreements(session, plan.id, agreement_id)
    if not found:
        raise AgreementNotFound("This plan has no agreement with this id.")
    return found[0]


async def get_agreement(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, agreement_id: uuid.UUID
) -> AgreementView:
    _, plan = await open_plan(session, me, plan_id, READ)
    return await _find_agreement(session, plan, agreement_id)


def _check_phase(plan: RepairPlan, phase: str | None) -> None:
    if phase is not None and phase not in {p["key"] for p in plan.phases}:
        raise UnprocessableContent(
            "The agreement does not fit this plan.",
            errors=[FieldError(pointer="#/phase", detail="is not a phase of this plan")],
        )


async def _sign(
    session: AsyncSession,
    caller: Caller,
    plan: RepairPlan,
    view: AgreementView,
    now: datetime,
) -> None:
    newest = view.newest
    signature = RepairSignature(version_id=newest.version.id, user_id=caller.user_id, signed_at=now)
    session.add(signature)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the same partner signed twice at once
        return
    newest.signatures.append(signature)
    in_force = {caller.user_id, caller.partner_id} <= set(newest.signed_by)
    if in_force:
        newest.version.in_force_at = now
    view.agreement.updated_at = now
    await session.flush()
    await record_event(
        session,
        "agreement.signed",
        caller,
        plan_id=plan.id,
        agreement_id=view.agreement.id,
        version=newest.version.number,
        in_force=in_force,
    )


async def add_agreement(
    session: AsyncSession, me: Member, plan_id: uuid.UUID, data: AgreementCreate, now: datetime
) -> AgreementView:
    """Propose an agreement; proposing it is signing it."""
    caller, plan = await open_plan(session, me, plan_id, WRITE, for_change=True)
    require_status(plan, PlanStatus.active)
    _check_phase(plan, data.phase)
    last = await session.scalar(
        select(func.max(RepairAgreement.position)).where(RepairAgreement.plan_id == plan.id)
    )
    agreement = RepairAgreement(
        plan_id=plan.id,
        phase=data.phase,
        position=(last + 1) if last is not None else 0,
        proposed_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(agreement)
    await session.flush()
    version = RepairAgreementVersion(
        agreement_id=agreement.id,
        number=1,
        text=data.text,
        proposed_by=caller.user_id,
        created_at=now,
    )
    session.add(version)
    await session.flush()
    view = AgreementView(agreement, [VersionView(version)])
    await _sign(session, caller, plan, view, now)
    return view


async def change_text(
    session: AsyncSession,
    me: Member,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    text: str,
    now: datetime,
    *,
    guard: Guard[AgreementView] | None = None,
) -> AgreementView:
    """A new wording, signed by its author; the other partner's signature brings it into
    force. The same wording again changes nothing. `guard` sees the current copy first."""
    caller, plan = await open_plan(session, me, plan_id, WRITE)
    view = await _find_agreement(session, plan, agreement_id, for_change=True)
    if guard is not None:
        guard(view)
    require_status(plan, PlanStatus.active)
    if text == view.newest.version.text:
        return view
    version = RepairAgreementVersion(
        agreement_id=view.agreement.id,
        number=view.newest.version.number + 1,
        text=text,
        proposed_by=caller.user_id,
        created_at=now,
    )
    session.add(version)
    await session.flush()
    view.versions.append(VersionView(version))
    await _sign(session, caller, plan, view, now)
    return view


async def sign(
    session: AsyncSession,
    me: Member,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    number: int,
    now: datetime,
) -> AgreementView:
    """Sign the newest wording, named by its number so nobody signs words they did not read.
    Signing again changes nothing."""
    caller, plan = await open_plan(session, me, plan_id, WRITE)
    view = await _find_agreement(session, plan, agreement_id, for_change=True)
    require_status(plan, PlanStatus.active)
    newest = view.newest.version.number
    if number != newest:
        raise AgreementChanged(
            f"You are signing version {number}, but the newest wording is version {newest}. "
            "Read it, then sign that one.",
            current_version=newest,
        )
    if caller.user_id not in view.newest.signed_by:
        await _sign(session, caller, plan, view, now)
    return view
