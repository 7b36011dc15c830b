"""Trust repair: template curation, the template file format, plans, steps, agreements and
trust ratings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.models.repair import PartnerRole, PlanStatus, StepOwner, StepStatus, TemplateStatus
from app.schemas.common import Locale
from app.schemas.libraries import LibrarySlug

PhaseKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        examples=["atone"],
        description="A lowercase slug.",
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=120)]
StepTitle = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]
AgreementText = Annotated[str, Field(min_length=1, max_length=1000)]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
Score = Annotated[
    int, Field(ge=0, le=10, description="How safe and trusting you feel: 0 (not at all) to 10.")
]
ROLES_HELP = (
    "The roles a plan from this template can name: `hurt` and `involved` (one partner was "
    "hurt), `mutual` (both were), or all three."
)


def _check_roles(roles: list[PartnerRole]) -> list[PartnerRole]:
    unique = list(dict.fromkeys(roles))
    if (PartnerRole.hurt in unique) != (PartnerRole.involved in unique):
        raise ValueError("`hurt` and `involved` go together")
    return unique


def _unique_phase_keys(phases: list[PhaseTemplate]) -> list[PhaseTemplate]:
    keys = [phase.key for phase in phases]
    if len(set(keys)) != len(keys):
        raise ValueError("phase keys must be unique")
    return phases


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- templates ---------------------------------------------------------------------------


class StepTemplate(_Input):
    title: StepTitle
    description: Description = ""
    owner: StepOwner = Field(description="Who the step is for by default.")


class PhaseTemplate(_Input):
    key: PhaseKey
    title: Title
    description: Description = ""
    steps: list[StepTemplate] = Field(default=[], max_length=30)
    agreements: list[AgreementText] = Field(default=[], max_length=20)


Roles = Annotated[
    list[PartnerRole],
    Field(min_length=1, max_length=3, description=ROLES_HELP),
    AfterValidator(_check_roles),
]
Phases = Annotated[
    list[PhaseTemplate],
    Field(min_length=1, max_length=8, description="In order; default atone → attune → attach."),
    AfterValidator(_unique_phase_keys),
]


def roles_problem(roles: list[str], phases: list[PhaseTemplate]) -> str | None:
    """Why these roles and steps do not fit together: a mutual plan has no `hurt` or
    `involved` partner to own a step."""
    if PartnerRole.mutual in roles and any(
        step.owner is not StepOwner.both for phase in phases for step in phase.steps
    ):
        return "a template that allows `mutual` plans can only suggest steps owned by `both`"
    return None


class _TemplateContent(_Input):
    @model_validator(mode="after")
    def _roles_fit_steps(self) -> Self:
        roles: list[str] | None = getattr(self, "roles", None)
        phases: list[PhaseTemplate] | None = getattr(self, "phases", None)
        if roles is not None and phases is not None and (problem := roles_problem(roles, phases)):
            raise ValueError(problem)
        return self


class TemplateFileItem(_TemplateContent):
    """One template of `app/content/repair_templates.json`."""

    slug: LibrarySlug
    title: Title
    description: Description = ""
    locale: Locale = "en"
    roles: Roles
    phases: Phases


class TemplateCreate(_TemplateContent):
    slug: LibrarySlug
    title: Title
    description: Description = ""
    locale: Locale = "en"
    roles: Roles = [PartnerRole.hurt, PartnerRole.involved]
    phases: Phases | None = Field(
        default=None, description="Omitted: atone → attune → attach, with no steps yet."
    )


class TemplateUpdate(_TemplateContent):
    """The slug never changes. Phases are replaced as a whole."""

    title: Title | None = None
    description: Description | None = None
    locale: Locale | None = None
    roles: Roles | None = None
    phases: Phases | None = None


class TemplateReturn(_Input):
    comment: str | None = Field(
        default=None, max_length=2000, description="Why it goes back, for the curator."
    )


class TemplateVersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    published_at: datetime
    published_by: uuid.UUID | None


class TemplateVersionOut(TemplateVersionSummary):
    title: str
    description: str
    locale: str
    roles: list[PartnerRole]
    phases: list[PhaseTemplate]


class TemplateDetail(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str
    description: str
    locale: str
    roles: list[PartnerRole]
    phases: list[PhaseTemplate]
    status: TemplateStatus
    published_version: int | None = Field(
        description="The version members see; null until first published."
    )
    allowed_transitions: list[str] = Field(description="The moves its status allows now.")
    versions: list[TemplateVersionSummary] = Field(description="Publications, oldest first.")
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class TemplateSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str
    status: TemplateStatus
    published_version: int | None
    updated_at: datetime


class CatalogTemplateOut(BaseModel):
    """A published template as members see it: its published version."""

    id: uuid.UUID
    slug: str
    version: int
    title: str
    description: str
    locale: str
    roles: list[PartnerRole]
    phases: list[PhaseTemplate]


# --- plans -------------------------------------------------------------------------------


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
