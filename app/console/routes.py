"""The console's pages for curated content: lists, one item, the prompt editor, the moves
of the life cycle and the diff of a draft against what members see.

Every rule is the curation services' (`app.services.curation` and its kinds): the pages only
turn forms into the same calls the admin API makes, and problems into readable pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from app.console.web import PREFIX, Desk, console_page, open_desk, parse_id
from app.core.pagination import PageQuery
from app.core.problems import FieldError, UnprocessableContent
from app.db import SessionDep
from app.models.prompts import Category, PromptKind
from app.schemas.curation import CommentRequest
from app.schemas.libraries import LibraryCreate
from app.schemas.library_prompts import PromptCreate
from app.services import curation, libraries, library_prompts, repair_templates

router = APIRouter(prefix=PREFIX, include_in_schema=False)
ALL: Final = PageQuery(limit=100)
MOVE_LABELS: Final = {
    "submit": "Submit for review",
    "return": "Return to draft",
    "publish": "Publish",
    "archive": "Archive",
    "restore": "Restore",
}


def invalid(error: ValidationError) -> UnprocessableContent:
    return UnprocessableContent(
        "Some fields are not valid.",
        errors=[
            FieldError(pointer="#/" + "/".join(map(str, e["loc"])), detail=e["msg"])
            for e in error.errors()
        ],
    )


def rules_of(model: type[Any]) -> dict[str, list[str]]:
    """What the API accepts for each field, read from the request schema it validates."""
    schema = model.model_json_schema()
    rules: dict[str, list[str]] = {}
    for name, spec in schema["properties"].items():
        options = spec.get("anyOf", [spec])
        found: list[str] = []
        if name in schema.get("required", []):
            found.append("Required.")
        for option in options:
            if "$ref" in option:
                option = schema["$defs"][option["$ref"].rsplit("/", 1)[1]]
            if "maxLength" in option:
                found.append(f"At most {option['maxLength']} characters.")
            if "minimum" in option and "maximum" in option:
                found.append(f"From {option['minimum']} to {option['maximum']}.")
            if "pattern" in option:
                found.append(f"Must match {option['pattern']}.")
            if "enum" in option:
                found.append("One of: " + ", ".join(map(str, option["enum"])) + ".")
            if option.get("type") == "array" and "maxItems" in option:
                found.append(f"At most {option['maxItems']} items.")
        if spec.get("description"):
            found.append(spec["description"])
        rules[name] = found
    return rules


PROMPT_RULES: Final = rules_of(PromptCreate)
PROMPT_CHOICES: Final = {
    "category": [c.value for c in Category],
    "kind": [k.value for k in PromptKind],
}
LIBRARY_RULES: Final = rules_of(LibraryCreate)


def prompt_fields(form: dict[str, str]) -> dict[str, Any]:
    """A prompt form's fields as the API's request body: blank means not given."""
    fields: dict[str, Any] = {
        name: value
        for name in ("text", "category", "depth", "kind", "listener_guidance")
        if (value := form.get(name, "").strip())
    }
    if form.get("tags", "").strip():
        fields["tags"] = [tag.strip() for tag in form["tags"].split(",") if tag.strip()]
    fields["sensitive"] = form.get("sensitive") == "on"
    if fields.get("depth", "").lstrip("-").isdigit():
        fields["depth"] = int(fields["depth"])  # a form sends text; the API wants a number
    return fields


async def _show_library(session: AsyncSession, library: Any) -> dict[str, Any]:
    return {
        "view": await libraries.load_view(session, library),
        "editable": library.status.value in curation.EDITABLE,
        "rules": PROMPT_RULES,
        "choices": PROMPT_CHOICES,
    }


async def _show_template(session: AsyncSession, template: Any) -> dict[str, Any]:
    return {
        "view": await repair_templates.load_view(session, template),
        "phases": repair_templates.phases_of(template.phases),
    }


@dataclass(frozen=True, slots=True)
class Section:
    """One kind of content as the console shows it: its page and what that page shows."""

    path: str
    label: str
    kind: curation.Kind[Any, Any]
    template: str
    show: Callable[[AsyncSession, Any], Awaitable[dict[str, Any]]]


SECTIONS: Final = {
    "libraries": Section(
        "libraries", "Prompt libraries", libraries.KIND, "library.html", _show_library
    ),
    "templates": Section(
        "templates", "Repair-plan templates", repair_templates.KIND, "template.html", _show_template
    ),
}


async def _section_item(desk: Desk, section_name: str, raw_id: str) -> tuple[Section, Any]:
    section = SECTIONS.get(section_name)
    item_id = parse_id(raw_id)
    if section is None or item_id is None:
        raise libraries.LibraryNotFound("No such page in the console.")
    return section, await section.kind.get(desk.session, item_id)


@router.get("")
@console_page
async def console_home(request: Request, session: SessionDep) -> Response:
    desk = await open_desk(request, session)
    lists = {
        name: (await section.kind.list_items(session, ALL)).items
        for name, section in SECTIONS.items()
    }
    queue = [
        (SECTIONS[name], item)
        for name, items in lists.items()
        for item in items
        if item.status.value == "review"
    ]
    return desk.page("home.html", sections=SECTIONS, lists=lists, queue=queue, rules=LIBRARY_RULES)


@router.post("/libraries")
@console_page
async def console_library_create(request: Request, session: SessionDep) -> Response:
    desk = await open_desk(request, session)
    form = await desk.form()
    try:
        data = LibraryCreate.model_validate(
            {
                "slug": form.get("slug", ""),
                "title": form.get("title", ""),
                "description": form.get("description", ""),
                "locale": form.get("locale", ""),
            }
        )
    except ValidationError as error:
        raise invalid(error) from None
    library = await libraries.create_library(session, desk.me, data)
    return RedirectResponse(f"{PREFIX}/libraries/{library.id}", status_code=303)


@router.post("/libraries/{library_id}/prompts")
@console_page
async def console_prompt_create(request: Request, session: SessionDep, library_id: str) -> Response:
    desk = await open_desk(request, session)
    form = await desk.form()
    _section, library = await _section_item(desk, "libraries", library_id)
    fields = prompt_fields(form)
    try:
        data = PromptCreate.model_validate(fields)
    except ValidationError as error:
        raise invalid(error) from None
    await library_prompts.create_prompt(session, desk.me, library.id, data)
    return RedirectResponse(f"{PREFIX}/libraries/{library.id}", status_code=303)


@router.get("/{section_name}/{item_id}")
@console_page
async def console_item(
    request: Request, session: SessionDep, section_name: str, item_id: str
) -> Response:
    """One library or template: its details, content, versions and the moves it allows."""
    desk = await open_desk(request, session)
    section, item = await _section_item(desk, section_name, item_id)
    shown = await section.show(session, item)
    moves = [(move, MOVE_LABELS[move]) for move in curation.allowed_moves(item)]
    return desk.page(section.template, section=section, item=item, moves=moves, **shown)


@router.post("/{section_name}/{item_id}/moves/{move}")
@console_page
async def console_move(
    request: Request, session: SessionDep, section_name: str, item_id: str, move: str
) -> Response:
    desk = await open_desk(request, session)
    form = await desk.form()
    section, item = await _section_item(desk, section_name, item_id)
    item = await section.kind.get(session, item.id, for_change=True)
    try:
        comment = CommentRequest.model_validate({"comment": form.get("comment") or None}).comment
    except ValidationError as error:
        raise invalid(error) from None
    await curation.transition(session, section.kind, desk.me, item, move, comment=comment)
    return RedirectResponse(f"{PREFIX}/{section.path}/{item.id}", status_code=303)


@router.get("/libraries/{library_id}/diff")
@console_page
async def console_library_diff(request: Request, session: SessionDep, library_id: str) -> Response:
    desk = await open_desk(request, session)
    section, library = await _section_item(desk, "libraries", library_id)
    view = await libraries.load_view(session, library)
    live = await libraries.live_versions(session, library.id)
    rows = [
        (prompt, live.get(prompt.id), draft, prompt.removed_at is not None)
        for prompt, draft in view.prompts
    ]
    published = await curation.published(session, libraries.KIND, library)
    return desk.page("diff.html", section=section, item=library, rows=rows, published=published)
