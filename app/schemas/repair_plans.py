"""Trust-repair plans: plans, steps, agreements and trust ratings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.repair import PlanStatus, StepOwner, StepStatus
from app.schemas.repair_templates import (
    AgreementText,
    Description,
    Note,
    PhaseKey,
    Score,
    StepTitle,
    Title,
    _Input,
)


class PlanCreate(_Input):
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
    signed_at: datetime


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
    completed_at: datetime | None
    created_by: uuid.UUID | None = Field(description="Null for a step copied from a template.")
    created_at: datetime
    updated_at: datetime


class SignatureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    signed_at: datetime


class AgreementVersionOut(BaseModel):
    number: int
    text: str
    proposed_by: uuid.UUID | None
    created_at: datetime
    signatures: list[SignatureOut]
    in_force_at: datetime | None = Field(description="When both had signed this wording.")


class AgreementOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    phase: str | None
    status: str = Field(
        description="`in_force` once both signed its newest wording, else `pending`."
    )
    version: int = Field(description="The newest wording's number.")
    text: str = Field(description="The newest wording.")
    signed_by: list[uuid.UUID] = Field(description="Who signed the newest wording.")
    in_force_version: int | None = Field(description="The newest wording both signed.")
    in_force_text: str | None
    versions: list[AgreementVersionOut] = Field(description="Every wording, oldest first.")
    created_at: datetime
    updated_at: datetime


class PlanSummary(BaseModel):
    id: uuid.UUID
    title: str
    status: PlanStatus
    template_id: uuid.UUID | None
    template_version: int | None
    roles: RolesOut
    current_phase: str | None
    proposed_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None


class PlanOut(PlanSummary):
    phases: list[PhaseOut]
    allowed_transitions: list[str] = Field(description="The moves you can make now.")
    pending_sign_offs: list[SignOffOut] = Field(
        description="Moves one partner signed off; the other's sign-off performs them."
    )
    steps: list[StepOut]
    agreements: list[AgreementOut]
    accepted_at: datetime | None
    paused_at: datetime | None
    declined_by: uuid.UUID | None
    decline_note: str | None = Field(description="Shown only to the partner who declined.")


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


class AgreementCreate(_Input):
    text: AgreementText
    phase: PhaseKey | None = None


class AgreementUpdate(_Input):
    text: AgreementText


class AgreementSign(_Input):
    version: int = Field(ge=1, le=1_000_000, description="The wording you read and sign.")


# --- trust ratings -----------------------------------------------------------------------


class TrustRatingIn(_Input):
    score: Score
    note: Note | None = None
    share_note: bool = Field(default=False, description="Let your partner read the note.")


class TrustRatingUpdate(_Input):
    share_note: bool


class TrustRatingOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    score: int
    note: str | None = Field(description="Null when there is none, or it is not shared with you.")
    note_shared: bool
    recorded_at: datetime
    local_date: date


class WeeklyMedianOut(BaseModel):
    week_start: date = Field(description="The Monday of the week, in your couple's time zone.")
    median: float
    count: int


class PartnerTrustOut(BaseModel):
    user_id: uuid.UUID
    ratings: list[TrustRatingOut] = Field(description="Oldest first.")
    weekly_medians: list[WeeklyMedianOut] = Field(description="Weeks with ratings, oldest first.")


class TrustSeriesOut(BaseModel):
    plan_id: uuid.UUID
    timezone: str
    partners: list[PartnerTrustOut]
