"""The console's pages for curated content, written once for every kind (`SECTIONS`): the
lists and review queue, one item with its editor, creating one, the moves of the life cycle
and the diff of a draft against what members see; plus adding a prompt to a library.

Every rule is the curation services' (`app.services.curation` and its kinds): the pages only
turn forms into the same calls the admin API makes, and problems into readable pages.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from app.console import forms
from app.console.sections import SECTIONS, Section
from app.console.web import PREFIX, Desk, console_page, open_desk, parse_id
from app.core.pagination import PageQuery
from app.db import SessionDep
from app.schemas.curation import CommentRequest
from app.schemas.library_prompts import PromptCreate
from app.services import curation, libraries, library_prompts
from app.services.roles import OwnSubmission

router = APIRouter(prefix=PREFIX, include_in_schema=False)
ALL: Final = PageQuery(limit=100)
MOVE_LABELS: Final = {
    "submit": "Submit for review",
    "return": "Return to draft",
    "publish": "Publish",
    "archive": "Archive",
    "restore": "Restore",
}


def _section(name: str) -> Section:
    section = SECTIONS.get(name)
    if section is None:
        raise libraries.LibraryNotFound("No such page in the console.")
    return section


async def _section_item(
    desk: Desk, section_name: str, raw_id: str, *, for_change: bool = False
) -> tuple[Section, Any]:
    section = _section(section_name)
    item_id = parse_id(raw_id)
    if item_id is None:
        raise section.kind.problems.not_found(f"No {section.noun} has this id.")
    return section, await section.kind.get(desk.session, item_id, for_change=for_change)


def _to(section: Section, item: Any) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/{section.path}/{item.id}", status_code=303)


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
    return desk.page(
        "home.html",
        sections=SECTIONS,
        lists=lists,
        queue=queue,
        rules=forms.LIBRARY_RULES,
        template_rules=forms.TEMPLATE_RULES,
        roles=forms.ROLES,
    )


@router.post("/{section_name}")
@console_page
async def console_create(request: Request, session: SessionDep, section_name: str) -> Response:
    """A new draft of the kind, as `POST /v1/admin/<kind>` makes it."""
    desk = await open_desk(request, session)
    form = await desk.form()
    section = _section(section_name)
    return _to(section, await section.create(desk, form))


@router.post("/libraries/{library_id}/prompts")
@console_page
async def console_prompt_create(request: Request, session: SessionDep, library_id: str) -> Response:
    desk = await open_desk(request, session)
    form = await desk.form()
    section, library = await _section_item(desk, "libraries", library_id)
    data = forms.parse(PromptCreate, forms.prompt_fields(form))
    await library_prompts.create_prompt(session, desk.me, library.id, data)
    return _to(section, library)


@router.get("/{section_name}/{item_id}")
@console_page
async def console_item(
    request: Request, session: SessionDep, section_name: str, item_id: str
) -> Response:
    """One library or template: its details and editor, content, versions and moves."""
    desk = await open_desk(request, session)
    section, item = await _section_item(desk, section_name, item_id)
    shown = await section.show(session, item)
    allowed = curation.allowed_moves(item)
    own_submission = False
    if curation.REVIEW_MOVES.intersection(allowed):
        try:
            await curation.check_reviewer(session, section.kind, desk.me, item)
        except OwnSubmission:
            own_submission = True
            allowed = [move for move in allowed if move not in curation.REVIEW_MOVES]
    moves = [(move, MOVE_LABELS[move]) for move in allowed]
    editable = item.status.value in curation.EDITABLE
    return desk.page(
        section.template,
        section=section,
        item=item,
        moves=moves,
        editable=editable,
        own_submission=own_submission,
        **shown,
    )


@router.post("/{section_name}/{item_id}")
@console_page
async def console_edit(
    request: Request, session: SessionDep, section_name: str, item_id: str
) -> Response:
    """Change the working copy, as `PATCH` on the admin API (a published one goes back to
    draft; members keep its published version)."""
    desk = await open_desk(request, session)
    form = await desk.form()
    section, item = await _section_item(desk, section_name, item_id, for_change=True)
    await section.edit(desk, item, form)
    return _to(section, item)


@router.post("/{section_name}/{item_id}/moves/{move}")
@console_page
async def console_move(
    request: Request, session: SessionDep, section_name: str, item_id: str, move: str
) -> Response:
    desk = await open_desk(request, session)
    form = await desk.form()
    section, item = await _section_item(desk, section_name, item_id, for_change=True)
    comment = forms.parse(CommentRequest, {"comment": form.get("comment") or None}).comment
    await curation.transition(session, section.kind, desk.me, item, move, comment=comment)
    return _to(section, item)


@router.get("/{section_name}/{item_id}/diff")
@console_page
async def console_diff(
    request: Request, session: SessionDep, section_name: str, item_id: str
) -> Response:
    """The working copy beside the published version, row by row."""
    desk = await open_desk(request, session)
    section, item = await _section_item(desk, section_name, item_id)
    published = await curation.published(session, section.kind, item)
    rows = await section.diff(session, item, published)
    return desk.page("diff.html", section=section, item=item, rows=rows, published=published)
