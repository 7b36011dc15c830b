"""The kinds of curated content as the console shows them: one `Section` each, naming its
page, how a form creates and changes one, and how its draft compares with what members see.

The pages (`app.console.routes`) are written once over these; each kind brings only its own
fields, and every rule stays in the curation services and the API's request schemas.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.console import forms
from app.console.web import Desk
from app.models.curation import CuratedContent
from app.models.prompts import LibraryVersion, PromptLibrary
from app.models.repair import RepairTemplate, RepairTemplateVersion
from app.schemas.libraries import LibraryCreate, LibraryUpdate
from app.schemas.repair_templates import PhaseTemplate, TemplateCreate, TemplateUpdate
from app.services import curation, libraries, repair_templates

NEVER: Final = "— never published —"
SHARED: Final = ("slug", "title", "description", "locale")


class Row(NamedTuple):
    """One line of a diff: what it is, what members see, the working copy, and whether the
    two differ."""

    label: str
    published: str
    draft: str
    changed: bool


def _row(label: str, published: str | None, draft: str) -> Row:
    return Row(label, NEVER if published is None else published, draft, published != draft)


def _detail_rows(item: CuratedContent, version: Any) -> list[Row]:
    return [
        _row(label, getattr(version, name) if version else None, getattr(item, name))
        for name, label in (("title", "Title"), ("description", "Description"))
    ]


@dataclass(frozen=True, slots=True)
class Section:
    """One kind of content in the console."""

    path: str
    label: str
    noun: str
    kind: curation.Kind[Any, Any]
    template: str
    show: Callable[[AsyncSession, Any], Awaitable[dict[str, Any]]]
    create: Callable[[Desk, forms.Form], Awaitable[Any]]
    edit: Callable[[Desk, Any, forms.Form], Awaitable[object]]
    diff: Callable[[AsyncSession, Any, Any], Awaitable[list[Row]]]
    """The rows comparing the working copy with its published version (None if never)."""


# --- prompt libraries ---------------------------------------------------------------------


async def _show_library(session: AsyncSession, library: PromptLibrary) -> dict[str, Any]:
    return {
        "view": await libraries.load_view(session, library),
        "rules": forms.PROMPT_RULES,
        "choices": forms.PROMPT_CHOICES,
        "detail_rules": forms.LIBRARY_RULES,
    }


async def _create_library(desk: Desk, form: forms.Form) -> PromptLibrary:
    data = forms.parse(LibraryCreate, forms.details(form, *SHARED))
    return await libraries.create_library(desk.session, desk.me, data)


async def _edit_library(desk: Desk, library: PromptLibrary, form: forms.Form) -> object:
    data = forms.parse(LibraryUpdate, forms.details(form, "title", "description"))
    return await libraries.update_library(desk.session, desk.me, library, data)


async def _diff_library(
    session: AsyncSession, library: PromptLibrary, version: LibraryVersion | None
) -> list[Row]:
    view = await libraries.load_view(session, library)
    live = await libraries.live_versions(session, library.id)
    rows = _detail_rows(library, version)
    for number, (prompt, draft) in enumerate(view.prompts, start=1):
        shown = live.get(prompt.id)
        removed = prompt.removed_at is not None
        rows.append(
            Row(
                f"Prompt {number}",
                shown.text if shown else "— new —",
                "— removed —" if removed else draft.text,
                removed or shown is None or shown.id != draft.id,
            )
        )
    return rows


# --- repair-plan templates ----------------------------------------------------------------


async def _show_template(session: AsyncSession, template: RepairTemplate) -> dict[str, Any]:
    phases = repair_templates.phases_of(template.phases)
    return {
        "view": await repair_templates.load_view(session, template),
        "phases": phases,
        "step_lines": [forms.step_lines(phase) for phase in phases],
        "roles": forms.ROLES,
        "detail_rules": forms.TEMPLATE_RULES,
        "phase_rules": forms.PHASE_RULES,
        "step_rules": forms.STEP_RULES,
        "steps_help": forms.STEPS_HELP,
    }


async def _create_template(desk: Desk, form: forms.Form) -> RepairTemplate:
    fields = forms.details(form, *SHARED) | {"roles": await desk.picked("roles")}
    data = forms.parse(TemplateCreate, fields)
    return await repair_templates.create_template(desk.session, desk.me, data)


async def _edit_template(desk: Desk, template: RepairTemplate, form: forms.Form) -> object:
    fields = forms.details(form, "title", "description") | {
        "roles": await desk.picked("roles"),
        "phases": forms.phases(form),
    }
    data = forms.parse(TemplateUpdate, fields)
    return await repair_templates.update_template(desk.session, desk.me, template, data)


def _phase_text(phase: PhaseTemplate) -> str:
    lines = [phase.title, *(f"• {s.title} ({s.owner.value})" for s in phase.steps)]
    return "\n".join(lines + [f"Agreement: {text}" for text in phase.agreements])


async def _diff_template(
    session: AsyncSession, template: RepairTemplate, version: RepairTemplateVersion | None
) -> list[Row]:
    rows = _detail_rows(template, version)
    rows.append(
        _row("Roles", ", ".join(version.roles) if version else None, ", ".join(template.roles))
    )
    draft = {p.key: p for p in repair_templates.phases_of(template.phases)}
    shown = {p.key: p for p in repair_templates.phases_of(version.phases)} if version else {}
    for key in dict.fromkeys([*shown, *draft]):
        before, after = shown.get(key), draft.get(key)
        rows.append(
            Row(
                f"Phase {key}",
                _phase_text(before) if before else ("— new —" if version else NEVER),
                _phase_text(after) if after else "— removed —",
                before != after,
            )
        )
    return rows


SECTIONS: Final = {
    "libraries": Section(
        path="libraries",
        label="Prompt libraries",
        noun="library",
        kind=libraries.KIND,
        template="library.html",
        show=_show_library,
        create=_create_library,
        edit=_edit_library,
        diff=_diff_library,
    ),
    "templates": Section(
        path="templates",
        label="Repair-plan templates",
        noun="template",
        kind=repair_templates.KIND,
        template="template.html",
        show=_show_template,
        create=_create_template,
        edit=_edit_template,
        diff=_diff_template,
    ),
}
