"""The steps of a repair plan."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from app.models.repair import StepOwner, StepStatus
from app.schemas.common import UtcDateTime
from app.schemas.repair_templates import Description, PhaseKey, StepTitle, _Input

if TYPE_CHECKING:
    from app.services.repair_steps import StepView


class StepOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    phase: str
    title: str
    description: str
    owner: StepOwner
    owner_user_id: uuid.UUID | None = Field(description="Null for a step owned by `both`.")
    due_date: date | None
    status: StepStatus
    position: int
    confirmed_by: list[uuid.UUID] = Field(description="Who confirmed it is done.")
    completed_at: UtcDateTime | None
    created_by: uuid.UUID | None = Field(description="Null for a step copied from a template.")
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def from_view(cls, view: StepView) -> Self:
        step = view.step
        return cls(
            id=step.id,
            plan_id=step.plan_id,
            phase=step.phase,
            title=step.title,
            description=step.description,
            owner=step.owner,
            owner_user_id=view.owner_user_id,
            due_date=step.due_date,
            status=step.status,
            position=step.position,
            confirmed_by=view.confirmed_by,
            completed_at=step.completed_at,
            created_by=step.created_by,
            created_at=step.created_at,
            updated_at=step.updated_at,
        )


class StepCreate(_Input):
    phase: PhaseKey | None = Field(default=None, description="The current phase when omitted.")
    title: StepTitle
    description: Description = ""
    owner: StepOwner
    due_date: date | None = None


class StepUpdate(_Input):
    """Fields to change; `due_date` is cleared with null."""

    phase: PhaseKey | None = None
    title: StepTitle | None = None
    description: Description | None = None
    owner: StepOwner | None = None
    due_date: date | None = None


class StepOrder(_Input):
    step_ids: list[uuid.UUID] = Field(
        max_length=500, description="Every step of the plan, once each, in the new order."
    )
