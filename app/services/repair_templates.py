"""Curating repair-plan templates: the draft → review → published → archived life cycle of
prompt libraries, with the same role check and audit log.

Publishing freezes the working copy as the next numbered `RepairTemplateVersion`; members
see, and plans copy, only that frozen version. So a published template can be edited (it
goes back to draft) while members keep the version they know until the next publication.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, FieldError, NotFound, UnprocessableContent
from app.models.base import utcnow
from app.models.repair import RepairTemplate, RepairTemplateVersion, TemplateStatus
from app.schemas.repair_templates import (
    PhaseTemplate,
    TemplateCreate,
    TemplateUpdate,
    roles_problem,
)
from app.services import audit, curation
from app.services.audit import Editor

ENTITY: Final = "repair_template"
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

TRANSITIONS: Final = curation.transitions(TemplateStatus)
_ACTIONS: Final = curation.audit_actions("repair_template")
EDITABLE: Final = curation.editable(TemplateStatus)
_PHASES: Final = TypeAdapter(list[PhaseTemplate])


class TemplateNotFound(NotFound):
    slug = "repair-template-not-found"
    title = "No repair template has this id"


class TemplateVersionNotFound(NotFound):
    slug = "repair-template-version-not-found"
    title = "The template has no version with this number"


class TemplateSlugTaken(Conflict):
    slug = "repair-template-slug-taken"
    title = "A repair template already has this slug"


class TemplateIllegalTransition(Conflict):
    slug = "repair-template-illegal-transition"
    title = "The template's status does not allow this move"


class TemplateLocked(Conflict):
    slug = "repair-template-locked"
    title = "The template cannot be edited in its current status"


class EmptyTemplate(Conflict):
    slug = "repair-template-empty"
    title = "The template suggests no steps"


@dataclass
class TemplateView:
    template: RepairTemplate
    versions: list[RepairTemplateVersion]


def allowed_moves(status: TemplateStatus) -> list[str]:
    return list(TRANSITIONS[status])


def snapshot(template: RepairTemplate) -> dict[str, Any]:
    return {
        "slug": template.slug,
        "title": template.title,
        "description": template.description,
        "locale": template.locale,
        "roles": list(template.roles),
        "phases": template.phases,
        "status": template.status.value,
        "published_version": template.published_version,
    }


def phases_of(stored: list[dict[str, Any]]) -> list[PhaseTemplate]:
    return _PHASES.validate_python(stored)


def _stored_phases(phases: list[PhaseTemplate]) -> list[dict[str, Any]]:
    return [phase.model_dump(mode="json") for phase in phases]


async def get_template(
    session: AsyncSession, template_id: uuid.UUID, *, for_change: bool = False
) -> RepairTemplate:
    statement = select(RepairTemplate).where(RepairTemplate.id == template_id)
    if for_change:
        statement = statement.with_for_update()
    template = await session.scalar(statement)
    if template is None:
        raise TemplateNotFound("No repair template has this id.")
    return template


async def load_view(session: AsyncSession, template: RepairTemplate) -> TemplateView:
    versions = await session.scalars(
        select(RepairTemplateVersion)
        .where(RepairTemplateVersion.template_id == template.id)
        .order_by(RepairTemplateVersion.number)
    )
    return TemplateView(template=template, versions=list(versions))


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


async def list_templates(
    session: AsyncSession, params: PageQuery, *, status: TemplateStatus | None = None
) -> Window[RepairTemplate]:
    statement = select(RepairTemplate)
    if status is not None:
        statement = statement.where(RepairTemplate.status == status)
    return await paginate(session, statement, order=(RepairTemplate.slug,), params=params)


async def slug_exists(session: AsyncSession, slug: str) -> bool:
    found = await session.scalar(select(RepairTemplate.id).where(RepairTemplate.slug == slug))
    return found is not None


async def insert_template(session: AsyncSession, template: RepairTemplate) -> None:
    if await slug_exists(session, template.slug):
        raise TemplateSlugTaken(f"The slug {template.slug!r} is taken; choose another.")
    session.add(template)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # created concurrently under the same slug
        raise TemplateSlugTaken(f"The slug {template.slug!r} is taken; choose another.") from None


async def create_template(
    session: AsyncSession, editor: Editor, data: TemplateCreate
) -> RepairTemplate:
    template = RepairTemplate(
        slug=data.slug,
        title=data.title,
        description=data.description,
        locale=data.locale,
        roles=[role.value for role in data.roles],
        phases=_stored_phases(data.phases or phases_of(DEFAULT_PHASES)),
        status=TemplateStatus.draft,
        created_by=editor.user_id,
    )
    await insert_template(session, template)
    audit.record(
        session,
        editor,
        "repair_template.created",
        entity_type=ENTITY,
        entity_id=template.id,
        after=snapshot(template),
    )
    await session.flush()
    return template


def open_for_edit(template: RepairTemplate) -> None:
    """Refuse edits under review or archived; a published template goes back to draft."""
    if template.status not in EDITABLE:
        raise TemplateLocked(
            f"A template in {template.status.value} cannot be edited."
            + (" Return it to draft first." if template.status is TemplateStatus.review else "")
            + (" Restore it first." if template.status is TemplateStatus.archived else ""),
            current_status=template.status.value,
            allowed_transitions=allowed_moves(template.status),
        )
    if template.status is TemplateStatus.published:
        template.status = TemplateStatus.draft


async def update_template(
    session: AsyncSession, editor: Editor, template: RepairTemplate, data: TemplateUpdate
) -> RepairTemplate:
    wanted: dict[str, Any] = {
        name: value for name, value in data.model_dump(exclude_unset=True).items() if value
    }
    if data.description is not None:
        wanted["description"] = data.description  # may be emptied
    if data.roles is not None:
        wanted["roles"] = [role.value for role in data.roles]
    if data.phases is not None:
        wanted["phases"] = _stored_phases(data.phases)
    changes = {name: value for name, value in wanted.items() if getattr(template, name) != value}
    if not changes:
        return template
    roles = changes.get("roles", template.roles)
    problem = roles_problem(roles, phases_of(changes.get("phases", template.phases)))
    if problem:
        pointer = "#/roles" if "roles" in changes else "#/phases"
        raise UnprocessableContent(
            "The roles and the steps' owners do not fit together.",
            errors=[FieldError(pointer=pointer, detail=problem)],
        )
    before = snapshot(template)
    open_for_edit(template)
    for name, value in changes.items():
        setattr(template, name, value)
    await session.flush()
    audit.record(
        session,
        editor,
        "repair_template.updated",
        entity_type=ENTITY,
        entity_id=template.id,
        before=before,
        after=snapshot(template),
    )
    await session.flush()
    return template


async def transition(
    session: AsyncSession,
    editor: Editor,
    template: RepairTemplate,
    move: str,
    *,
    comment: str | None = None,
) -> RepairTemplate:
    moves = TRANSITIONS[template.status]
    if move not in moves:
        allowed = allowed_moves(template.status)
        raise TemplateIllegalTransition(
            f"A template in {template.status.value} cannot {move}; "
            + (f"it can: {', '.join(allowed)}." if allowed else "it cannot move."),
            current_status=template.status.value,
            allowed_transitions=allowed,
        )
    before = snapshot(template)
    after_extra: dict[str, Any] = {}
    if move == "submit" and not any(phase.steps for phase in phases_of(template.phases)):
        raise EmptyTemplate("Suggest at least one step before submitting the template.")
    if move == "publish":
        version = await freeze(session, editor, template)
        after_extra["version"] = version.number
    else:
        template.status = moves[move]
    if comment:
        after_extra["comment"] = comment
    await session.flush()
    audit.record(
        session,
        editor,
        _ACTIONS[move],
        entity_type=ENTITY,
        entity_id=template.id,
        before=before,
        after={**snapshot(template), **after_extra},
    )
    await session.flush()
    return template


async def freeze(
    session: AsyncSession, editor: Editor, template: RepairTemplate
) -> RepairTemplateVersion:
    """Publish the working copy as the next numbered version."""
    latest = await session.scalar(
        select(func.coalesce(func.max(RepairTemplateVersion.number), 0)).where(
            RepairTemplateVersion.template_id == template.id
        )
    )
    version = RepairTemplateVersion(
        template_id=template.id,
        number=(latest or 0) + 1,
        title=template.title,
        description=template.description,
        locale=template.locale,
        roles=list(template.roles),
        phases=template.phases,
        published_at=utcnow(),
        published_by=editor.user_id,
    )
    session.add(version)
    template.status = TemplateStatus.published
    template.published_version = version.number
    await session.flush()
    return version
