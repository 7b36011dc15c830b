"""Published repair-plan templates as members see them, and the starter templates seeded from
`app/content/repair_templates.json`.

Members see a template's published version only, never its working copy, and nothing of an
archived template.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import FieldError, UnprocessableContent
from app.models.repair import RepairTemplate, RepairTemplateVersion, TemplateStatus
from app.schemas.repair_templates import TemplateFileItem
from app.services import curation
from app.services.audit import SYSTEM
from app.services.curation_files import field_errors, in_document_order, repeated
from app.services.repair_templates import KIND, TemplateNotFound, template_from
from app.services.template_translations import seeded_translations

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "repair_templates.json"
_FILE = TypeAdapter(list[TemplateFileItem])


class InvalidTemplateFile(UnprocessableContent):
    slug = "invalid-repair-template-file"
    title = "The repair template file is not valid"


@dataclass(frozen=True, slots=True)
class PublishedTemplate:
    template: RepairTemplate
    version: RepairTemplateVersion


def _published(*entities: Any) -> Select[Any]:
    return (
        select(*entities)
        .select_from(RepairTemplate)
        .join(
            RepairTemplateVersion,
            and_(
                RepairTemplateVersion.template_id == RepairTemplate.id,
                RepairTemplateVersion.number == RepairTemplate.published_version,
            ),
        )
        .where(RepairTemplate.status != TemplateStatus.archived)
    )


async def list_published(session: AsyncSession, params: PageQuery) -> Window[PublishedTemplate]:
    window: Window[RepairTemplate] = await paginate(
        session, _published(RepairTemplate), order=(RepairTemplate.slug,), params=params
    )
    versions: dict[uuid.UUID, RepairTemplateVersion] = {}
    if window.items:
        rows = await session.execute(
            _published(RepairTemplate.id, RepairTemplateVersion).where(
                RepairTemplate.id.in_([t.id for t in window.items])
            )
        )
        versions = {template_id: version for template_id, version in rows}
    return Window(
        items=[PublishedTemplate(t, versions[t.id]) for t in window.items if t.id in versions],
        next_cursor=window.next_cursor,
        has_more=window.has_more,
    )


async def get_published(session: AsyncSession, reference: str) -> PublishedTemplate:
    """A published template by slug or id, or TemplateNotFound."""
    statement = _published(RepairTemplate, RepairTemplateVersion)
    try:
        statement = statement.where(RepairTemplate.id == uuid.UUID(reference))
    except ValueError:
        statement = statement.where(RepairTemplate.slug == reference)
    row = (await session.execute(statement)).first()
    if row is None:
        raise TemplateNotFound("No published repair template has this slug or id.")
    return PublishedTemplate(*row)


def _repeated_slugs(raw: bytes) -> list[FieldError]:
    """The seed would keep only the first of two templates with one slug."""
    try:
        return repeated(json.loads(raw), "slug", "#")
    except ValueError:
        return []


def parse_template_file(raw: bytes, *, source: str) -> list[TemplateFileItem]:
    """The templates a JSON list describes, or `InvalidTemplateFile` naming every problem."""
    errors = _repeated_slugs(raw)
    templates: list[TemplateFileItem] = []
    try:
        templates = _FILE.validate_json(raw, strict=True)
    except ValidationError as error:
        errors.extend(field_errors(error))
    if errors:
        raise InvalidTemplateFile(
            f"{source}: the file is not valid, so nothing was written.",
            errors=in_document_order(errors),
        )
    return templates


async def seed_templates(session: AsyncSession, path: Path = CONTENT_FILE) -> dict[str, int]:
    """Load the starter templates, each published as version 1, by the system.

    A template whose slug exists is left as it is, whatever curators made of it since, but
    for the shipped translations it lacks of words still as shipped.
    """
    raw = await anyio.Path(path).read_bytes()
    counts = {
        "repair_templates": 0,
        "repair_templates_unchanged": 0,
        "repair_template_translations_added": 0,
    }
    for item in parse_template_file(raw, source=path.name):
        template = template_from(item)
        template.translations = seeded_translations(item)
        if await curation.seed(session, KIND, template):
            counts["repair_templates"] += 1
        else:
            counts["repair_templates_unchanged"] += 1
            counts["repair_template_translations_added"] += await _backfill(session, template)
    return counts


async def _backfill(session: AsyncSession, shipped: RepairTemplate) -> int:
    """For a template installed before its translations shipped: the shipped translations
    it lacks, on the template and on its published version, where their words are still as
    shipped (curators translate their own); recorded in the audit log. The languages added."""
    existing = await session.scalar(
        select(RepairTemplate).where(RepairTemplate.slug == shipped.slug)
    )
    if existing is None or not shipped.translations:
        return 0
    published = await session.scalar(
        select(RepairTemplateVersion).where(
            RepairTemplateVersion.template_id == existing.id,
            RepairTemplateVersion.number == existing.published_version,
        )
    )
    words = (shipped.title, shipped.description, shipped.phases)
    added: set[str] = set()
    for holder in (existing, published):
        if holder is None or (holder.title, holder.description, holder.phases) != words:
            continue
        missing = {
            language: words_there
            for language, words_there in shipped.translations.items()
            if language not in (holder.translations or {})
        }
        if missing:
            holder.translations = {**(holder.translations or {}), **missing}
            added |= missing.keys()
    if added:
        curation.record(session, KIND, SYSTEM, "translations_seeded", existing, added=sorted(added))
    return len(added)
