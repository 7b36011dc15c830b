"""Trust-repair plans: proposing one, and the plan as a partner reads it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.repair import PlanStatus, RepairPlan
from app.schemas.common import UtcDateTime
from app.schemas.repair_agreements import AgreementOut
from app.schemas.repair_steps import StepOut
from app.schemas.repair_templates import Note, Title, _Input

if TYPE_CHECKING:
    from app.services.repair_plans import PlanView


class PlanCreate(_Input):
    # Either a hurt partner or `mutual`, never both (`_roles_named`). Said with if/then/else,
    # like the other conditional bodies, not a top-level anyOf: client generators read an
    # object whose anyOf lists partial branches as a union of those branches alone, and
    # drop `template` and `title` from the request model they write.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"mutual": {"const": True}}, "required": ["mutual"]},
            "then": {"properties": {"hurt_user_id": {"type": "null"}}},
            "else": {
                "properties": {"hurt_user_id": {"type": "string"}},
                "required": ["hurt_user_id"],
            },
        },
    )

    template: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="A published template's slug or id; omitted for a blank plan.",
    )
    title: Title | None = Field(
        default=None, description="The template's title (or `Our repair plan`) when omitted."
    )
    mutual: bool = Field(default=False, description="Both of you were hurt.")
    hurt_user_id: uuid.UUID | None = Field(
        default=None,
        description="Which partner was hurt (the other is `involved`); omit when `mutual`.",
    )

    @model_validator(mode="after")
    def _roles_named(self) -> Self:
        if self.mutual == (self.hurt_user_id is not None):
            raise ValueError("name the hurt partner with `hurt_user_id`, or set `mutual`")
        return self


class DeclineRequest(_Input):
    note: Note | None = Field(default=None, description="Seen by you alone, ever.")


class RolesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    mutual: bool
    hurt_user_id: uuid.UUID | None
    involved_user_id: uuid.UUID | None


class PhaseOut(BaseModel):
    key: str
    title: str
    description: str
    state: str = Field(description="`done`, `current` or `upcoming`.")


class SignOffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    move: str = Field(examples=["advance"])
    user_id: uuid.UUID
    signed_at: UtcDateTime


class PlanSummary(BaseModel):
    id: uuid.UUID
    title: str
    status: PlanStatus
    template_id: uuid.UUID | None
    template_version: int | None
    roles: RolesOut
    current_phase: str | None
    proposed_by: uuid.UUID | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    ended_at: UtcDateTime | None

    @staticmethod
    def _fields(plan: RepairPlan) -> dict[str, Any]:
        return {
            "id": plan.id,
            "title": plan.title,
            "status": plan.status,
            "template_id": plan.template_id,
            "template_version": plan.template_version,
            "roles": RolesOut.model_validate(plan),
            "current_phase": plan.phases[plan.current_phase]["key"] if plan.phases else None,
            "proposed_by": plan.proposed_by,
            "created_at": plan.created_at,
            "updated_at": plan.updated_at,
            "ended_at": plan.ended_at,
        }

    @classmethod
    def from_plan(cls, plan: RepairPlan) -> Self:
        return cls(**cls._fields(plan))


def _phase_states(plan: RepairPlan) -> list[str]:
    if plan.status is PlanStatus.completed:
        return ["done"] * len(plan.phases)
    return [
        "done" if i < plan.current_phase else "current" if i == plan.current_phase else "upcoming"
        for i in range(len(plan.phases))
    ]


class PlanOut(PlanSummary):
    phases: list[PhaseOut]
    allowed_transitions: list[str] = Field(description="The moves you can make now.")
    pending_sign_offs: list[SignOffOut] = Field(
        description="Moves one partner signed off; the other's sign-off performs them."
    )
    steps: list[StepOut]
    agreements: list[AgreementOut]
    accepted_at: UtcDateTime | None
    paused_at: UtcDateTime | None
    declined_by: uuid.UUID | None
    decline_note: str | None = Field(description="Shown only to the partner who declined.")

    @classmethod
    def from_view(cls, view: PlanView) -> Self:
        plan = view.plan
        return cls(
            **cls._fields(plan),
            phases=[
                PhaseOut(
                    key=phase["key"],
                    title=phase["title"],
                    description=phase["description"],
                    state=state,
                )
                for phase, state in zip(plan.phases, _phase_states(plan), strict=True)
            ],
            allowed_transitions=view.allowed_transitions,
            pending_sign_offs=[SignOffOut.model_validate(s) for s in view.sign_offs],
            steps=[StepOut.from_view(step) for step in view.steps],
            agreements=[AgreementOut.from_view(agreement) for agreement in view.agreements],
            accepted_at=plan.accepted_at,
            paused_at=plan.paused_at,
            declined_by=plan.declined_by,
            decline_note=view.decline_note,
        )
