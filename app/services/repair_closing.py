"""Closing a couple's open repair plan when the couple itself ends.

Kept apart from `repair_plans` (which builds on the couples service) so that the couples
service can call it without an import cycle.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.models.repair import PlanStatus, RepairPlan, RepairSignOff


async def end_with_couple(
    session: AsyncSession, couple_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    """A couple that ends abandons its open plan: nobody could move it on any more."""
    plan = await session.scalar(select(RepairPlan).where(RepairPlan.open_couple_id == couple_id))
    if plan is None:
        return
    await session.execute(delete(RepairSignOff).where(RepairSignOff.plan_id == plan.id))
    plan.status = PlanStatus.abandoned
    plan.ended_at = now
    plan.open_couple_id = None
    plan.updated_at = now
    await session.flush()
    await append_event(
        session, "repair_plan.abandoned", user_id=user_id, couple_id=couple_id, plan_id=plan.id
    )
