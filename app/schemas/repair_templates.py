"""Repair-plan templates: their curation, the template file format and the published catalog."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from app.models.repair import PartnerRole, StepOwner, TemplateStatus
from app.schemas import curation
from app.schemas.common import Locale, UtcDateTime
from app.schemas.curated import CuratedOut, CuratedUpdate
from app.schemas.curation import CommentRequest, Input
from app.schemas.curation import Slug as LibrarySlug
from app.schemas.translations import LANGUAGE_PATTERN, Language

if TYPE_CHECKING:
    from app.services.repair_templates import TemplateView

# Shared with the repair plans' schemas, which import them from here.
Title = curation.Title
Description = curation.Description
_Input = Input
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
StepTitle = Annotated[str, Field(min_length=1, max_length=200)]
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


# --- templates ---------------------------------------------------------------------------


class StepTemplate(Input):
    title: StepTitle
    description: Description = ""
    owner: StepOwner = Field(description="Who the step is for by default.")


class PhaseTemplate(Input):
    key: PhaseKey
    title: Title
    description: Description = ""
    steps: list[StepTemplate] = Field(default=[], max_length=30)
    agreements: list[AgreementText] = Field(default=[], max_length=20)


Roles = Annotated[
    list[PartnerRole],
    Field(
        min_length=1,
        max_length=3,
        description=ROLES_HELP,
        json_schema_extra={
            "if": {"contains": {"const": "hurt"}},
            "then": {"contains": {"const": "involved"}},
            "else": {"not": {"contains": {"const": "involved"}}},
        },
    ),
    AfterValidator(_check_roles),
]
Phases = Annotated[
    list[PhaseTemplate],
    Field(
        min_length=1,
        max_length=8,
        description="In order; default atone → attune → attach. Each phase's `key` once.",
        json_schema_extra={"uniqueItems": True},
    ),
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


# `roles_problem` as JSON Schema, so that clients (and generated ones) know it in advance.
_MUTUAL_STEPS_SHARED: JsonDict = {
    "if": {
        "required": ["roles"],
        "properties": {"roles": {"contains": {"const": "mutual"}}},
    },
    "then": {
        "properties": {
            "phases": {
                "items": {
                    "properties": {"steps": {"items": {"properties": {"owner": {"const": "both"}}}}}
                }
            }
        }
    },
}


class _TemplateContent(Input):
    model_config = ConfigDict(json_schema_extra=_MUTUAL_STEPS_SHARED)

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


class TemplateTranslation(Input):
    """The template's words in another language: its phases, steps and agreements in the
    template's order, with the same keys and owners."""

    title: Title
    description: Description = ""
    phases: Phases


TemplateTranslations = Annotated[
    dict[Language, TemplateTranslation],
    Field(
        max_length=20,
        description="The template's words in other languages, by language.",
        json_schema_extra={"propertyNames": {"pattern": LANGUAGE_PATTERN}},
    ),
]


class TemplateUpdate(CuratedUpdate, _TemplateContent):
    """The slug never changes. Phases are replaced as a whole, translations too."""

    roles: Roles | None = None
    phases: Phases | None = None
    translations: TemplateTranslations | None = None


class TemplateReturn(CommentRequest):
    pass


_DETAILS = (
    "description",
    "locale",
    "roles",
    "phases",
    "translations",
    "created_by",
    "created_at",
)


class TemplateVersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    published_at: UtcDateTime
    published_by: uuid.UUID | None


class TemplateVersionOut(TemplateVersionSummary):
    title: str
    description: str
    locale: str
    roles: list[PartnerRole]
    phases: list[PhaseTemplate]
    translations: dict[str, TemplateTranslation] = Field(
        description="Its words in other languages, by language."
    )


class TemplateDetail(CuratedOut):
    roles: list[PartnerRole]
    phases: list[PhaseTemplate]
    translations: dict[str, TemplateTranslation] = Field(
        description="Its words in other languages, by language."
    )
    status: TemplateStatus
    published_version: int | None = Field(
        description="The version members see; null until first published."
    )
    allowed_transitions: list[str] = Field(description="The moves its status allows now.")
    versions: list[TemplateVersionSummary] = Field(description="Publications, oldest first.")
    created_by: uuid.UUID | None
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, view: TemplateView) -> Self:
        fields = TemplateSummary.model_validate(view.template).model_dump()
        return cls.model_validate(
            {
                **fields,
                **{name: getattr(view.template, name) for name in _DETAILS},
                "allowed_transitions": view.allowed_transitions,
                "versions": view.versions,
            }
        )


class TemplateSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str
    status: TemplateStatus
    published_version: int | None
    updated_at: UtcDateTime


class CatalogTemplateOut(BaseModel):
    """A published template as members see it: its published version."""

    id: uuid.UUID
    slug: str
    version: int
    title: str
    description: str
    locale: str = Field(description="The language of its words, as in `Content-Language`.")
    fallback: bool = Field(
        description="Whether its words are not in your first language (`Accept-Language`, "
        "else your profile's `locale`): it has no translation into it."
    )
    roles: list[PartnerRole]
    phases: list[PhaseTemplate]
