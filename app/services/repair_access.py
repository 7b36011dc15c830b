"""Who may see a couple's repair plans, and finding a plan within what they may see.

The partners themselves, through the first-party app. A third-party client (a therapist's
platform) only while BOTH partners have a live consent for it that includes `repair:read`
(and every other scope the operation needs); either partner revoking theirs ends the access
at the next request, because it is checked on every request. Otherwise the couple's plans do
not exist for that client (404). Private notes never reach a third-party client, not even
their author's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.core.problems import Conflict, NotFound
from app.core.security import Member, Scope
from app.models.base import Base
from app.models.couples import Couple, CoupleMember
from app.models.oauth import Consent
from app.models.repair import PlanStatus, RepairPlan, StepOwner
from app.services import visibility
from app.services.clients import is_first_party
from app.services.couples import require_couple

READ: frozenset[str] = frozenset({Scope.repair_read.value})
WRITE: frozenset[str] = frozenset({Scope.repair_read.value, Scope.repair_write.value})

V = TypeVar("V")
Owned = TypeVar("Owned", bound=Base)
Guard = Callable[[V], None]
"""Checked against the current copy before a change (a transport's precondition, such as an
HTTP `If-Match`); it raises to refuse the change."""


class RepairHidden(NotFound):
    slug = "repair-plans-not-found"
    title = "No repair plans are visible here"


class PlanNotFound(NotFound):
    slug = "repair-plan-not-found"
    title = "Repair plan not found"


class PlanNotActive(Conflict):
    slug = "repair-plan-not-active"
    title = "The plan is not in a status that allows this"


@dataclass(frozen=True, slots=True)
class Caller:
    """A partner looking at their couple's plans, through some client: derived here from a
    `Member`, for the repair services' own use."""

    user_id: uuid.UUID
    couple: Couple
    partner_id: uuid.UUID | None
    first_party: bool
    """Whether private notes may be shown (to their author) through this client."""


async def consented_by_both(
    session: AsyncSession, client_id: str, member_ids: list[uuid.UUID], needed: Collection[str]
) -> bool:
    if len(member_ids) != 2:
        return False
    rows = await session.execute(
        select(Consent.user_id, Consent.scopes).where(
            Consent.client_id == client_id,
            Consent.user_id.in_(member_ids),
            Consent.revoked_at.is_(None),
        )
    )
    granted = {user_id: set(scopes or []) for user_id, scopes in rows}
    return visibility.consented_by_both(member_ids, granted, needed)


async def resolve_caller(
    session: AsyncSession,
    me: Member,
    needed: Collection[str],
    *,
    hidden: NotFound | None = None,
) -> Caller:
    """The caller's couple, if this client may reach its repair plans (or another couple-wide
    thing, which then names its own `hidden` problem); else RepairHidden."""
    user_id, client_id = me.user_id, me.client_id
    couple = await require_couple(session, user_id)
    members = list(
        await session.scalars(
            select(CoupleMember.user_id).where(
                CoupleMember.couple_id == couple.id, CoupleMember.active_user_id.is_not(None)
            )
        )
    )
    first_party = await is_first_party(session, client_id)
    if not first_party and not await consented_by_both(session, client_id, members, needed):
        raise hidden or RepairHidden(
            "This app can see a couple's repair plans only once both partners have allowed it."
        )
    partner = next((member for member in members if member != user_id), None)
    return Caller(user_id=user_id, couple=couple, partner_id=partner, first_party=first_party)


async def couple_row(
    session: AsyncSession,
    model: type[Owned],
    caller: Caller,
    row_id: uuid.UUID,
    *,
    for_change: bool,
    missing: NotFound,
) -> Owned:
    """The row of `model` with this id that belongs to the caller's couple (by its `id` and
    `couple_id` columns), else `missing` is raised; `for_change` locks it so changes queue."""
    columns = model.__table__.c
    statement = select(model).where(columns.id == row_id, columns.couple_id == caller.couple.id)
    if for_change:
        statement = statement.with_for_update()
    row = await session.scalar(statement)
    if row is None:
        raise missing
    return row


async def get_plan(
    session: AsyncSession, caller: Caller, plan_id: uuid.UUID, *, for_change: bool = False
) -> RepairPlan:
    """One of the caller's couple's plans; `for_change` locks it so changes queue."""
    missing = PlanNotFound("Your couple has no repair plan with this id.")
    return await couple_row(
        session, RepairPlan, caller, plan_id, for_change=for_change, missing=missing
    )


async def open_plan(
    session: AsyncSession,
    me: Member,
    plan_id: uuid.UUID,
    needed: Collection[str],
    *,
    for_change: bool = False,
) -> tuple[Caller, RepairPlan]:
    """The caller, and one of their couple's plans that this client may reach."""
    caller = await resolve_caller(session, me, needed)
    return caller, await get_plan(session, caller, plan_id, for_change=for_change)


def require_status(plan: RepairPlan, *statuses: PlanStatus) -> None:
    if plan.status not in statuses:
        names = " or ".join(status.value for status in statuses)
        raise PlanNotActive(
            f"This can be done while the plan is {names}; it is {plan.status.value}.",
            current_status=plan.status.value,
        )


def owner_user_id(plan: RepairPlan, owner: StepOwner) -> uuid.UUID | None:
    """The partner a `hurt` or `involved` role names; None for `both`."""
    if owner is StepOwner.hurt:
        return plan.hurt_user_id
    if owner is StepOwner.involved:
        return plan.involved_user_id
    return None


async def record_event(session: AsyncSession, type: str, caller: Caller, **data: object) -> None:
    await append_event(session, type, user_id=caller.user_id, couple_id=caller.couple.id, **data)
