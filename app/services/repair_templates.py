"""Repair-plan templates as a kind of curated content (`app.services.curation`): their own
fields (roles, phases), when one is ready for review, and what its publication freezes.

Publishing freezes the working copy as the next numbered `RepairTemplateVersion`; members
see, and plans copy, only that frozen version. So a published template can be edited (it
goes back to draft) while members keep the version they know until the next publication.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict, FieldError, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.repair import RepairTemplate, RepairTemplateVersion
from app.schemas.repair_templates import (
    PhaseTemplate,
    TemplateCreate,
    TemplateFileItem,
    TemplateUpdate,
    roles_problem,
)
from app.services import curation
from app.services.template_translations import translation_errors

DEFAULT_PHASES: Final[list[dict[str, Any]]] = [
    {
        "key": "atone",
        "title": "Atone",
        "description": "The partner who caused the hurt takes responsibility, answers "
        "questions honestly and makes amends, at the hurt partner's pace.",
        "steps": [],
        "agreements": [],
    },
    {
        "key": "attune",
        "title": "Attune",
        "description": "Together, understand what led here and what each of you needs; "
        "listen to understand, not to defend.",
        "steps": [],
        "agreements": [],
    },
    {
        "key": "attach",
        "title": "Attach",
        "description": "Rebuild closeness and reliability through small commitments kept, "
        "and time together you both enjoy.",
        "steps": [],
        "agreements": [],
    },
]

_PHASES: Final = TypeAdapter(list[PhaseTemplate])


PROBLEMS: Final = curation.Problems.named(
    "repair-template", noun="repair template", short="template"
)
TemplateNotFound, TemplateSlugTaken, TemplateIllegalTransition, TemplateLocked = PROBLEMS


class TemplateVersionNotFound(NotFound):
    slug = "repair-template-version-not-found"
    title = "The template has no version with this number"


class EmptyTemplate(Conflict):
    slug = "repair-template-empty"
    title = "The template suggests no steps"


class TranslationsOutdated(Conflict):
    slug = "repair-template-translations-outdated"
    title = "Some translations no longer fit the template's phases"


@dataclass
class TemplateView:
    template: RepairTemplate
    versions: list[RepairTemplateVersion]
    allowed_transitions: list[str]


def phases_of(stored: list[dict[str, Any]]) -> list[PhaseTemplate]:
    return _PHASES.validate_python(stored)


def _stored_phases(phases: list[PhaseTemplate]) -> list[dict[str, Any]]:
    return [phase.model_dump(mode="json") for phase in phases]


async def _check_ready(session: AsyncSession, template: RepairTemplate) -> None:
    if not any(phase.steps for phase in phases_of(template.phases)):
        raise EmptyTemplate("Suggest at least one step before submitting the template.")
    errors = translation_errors(template.phases, template.translations or {})
    if errors:
        raise TranslationsOutdated(
            "The phases changed since these translations were written: update or remove "
            "them (`translations`) before submitting.",
            errors=[error.model_dump(exclude_none=True) for error in errors],
        )


async def _freeze_phases(
    session: AsyncSession, template: RepairTemplate, number: int
) -> RepairTemplateVersion:
    return RepairTemplateVersion(
        template_id=template.id, number=number, roles=list(template.roles), phases=template.phases
    )


KIND: Final = curation.Kind[RepairTemplate, RepairTemplateVersion](
    entity="repair_template",
    noun="template",
    model=RepairTemplate,
    version_model=RepairTemplateVersion,
    problems=PROBLEMS,
    fields=("roles", "phases", "translations"),
    version_fields=("roles", "translations"),
    check_ready=_check_ready,
    freeze_content=_freeze_phases,
)
get_template = KIND.get
list_templates = KIND.list_items


async def load_view(session: AsyncSession, template: RepairTemplate) -> TemplateView:
    versions = await curation.versions(session, KIND, template.id)
    return TemplateView(template, versions, curation.allowed_moves(template))


async def get_version(
    session: AsyncSession, template_id: uuid.UUID, number: int
) -> RepairTemplateVersion:
    version = await session.scalar(
        select(RepairTemplateVersion).where(
            RepairTemplateVersion.template_id == template_id,
            RepairTemplateVersion.number == number,
        )
    )
    if version is None:
        raise TemplateVersionNotFound(f"The template has no version {number}.")
    return version


def template_from(data: TemplateCreate | TemplateFileItem) -> RepairTemplate:
    """A new working copy; without phases, atone → attune → attach, empty."""
    return RepairTemplate(
        **data.model_dump(mode="json", exclude={"phases"}),
        phases=_stored_phases(data.phases or phases_of(DEFAULT_PHASES)),
    )


async def create_template(
    session: AsyncSession, by: Member, data: TemplateCreate
) -> RepairTemplate:
    return await curation.add(session, KIND, by, template_from(data))


async def update_template(
    session: AsyncSession, by: Member, template: RepairTemplate, data: TemplateUpdate
) -> RepairTemplate:
    """Null means unchanged (the description and translations may be emptied); phases
    replace all phases, translations all translations."""
    wanted: dict[str, Any] = {
        name: value
        for name, value in data.model_dump(mode="json", exclude_unset=True).items()
        if value or (name in ("description", "translations") and value is not None)
    }
    roles = wanted.get("roles", template.roles)
    if "translations" in wanted:
        errors = translation_errors(wanted.get("phases", template.phases), wanted["translations"])
        if errors:
            raise UnprocessableContent(
                "A translation changes more than the template's words.", errors=errors
            )
    problem = roles_problem(roles, phases_of(wanted.get("phases", template.phases)))
    if problem:
        pointer = "#/roles" if "roles" in wanted else "#/phases"
        raise UnprocessableContent(
            "The roles and the steps' owners do not fit together.",
            errors=[FieldError(pointer=pointer, detail=problem)],
        )
    return await curation.update(session, KIND, by, template, wanted)
