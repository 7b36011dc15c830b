"""The console's prompt editor for one prompt of a library: change it or remove it, with the
rules the API enforces beside each field, and curate its translations. Same calls as
`PATCH`/`DELETE` on the admin API and as its `.../translations/{language}` endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from app.console.forms import PROMPT_CHOICES, PROMPT_RULES, invalid, parse, prompt_fields
from app.console.translations import TranslationForm, page_context, translation_fields
from app.console.web import PREFIX, Desk, console_page, open_desk, parse_id
from app.db import SessionDep
from app.schemas.library_prompts import PromptUpdate
from app.services import library_prompts, translations
from app.services.library_prompts import PromptView

router = APIRouter(prefix=PREFIX, include_in_schema=False)


async def _prompt(
    desk: Desk, library_id: str, prompt_id: str, *, for_change: bool = False
) -> PromptView:
    wanted, library = parse_id(prompt_id), parse_id(library_id)
    view = (
        await library_prompts.get_prompt(desk.session, wanted, for_change=for_change)
        if wanted
        else None
    )
    if view is None or view.library.id != library:
        raise library_prompts.PromptNotFound("This library has no such prompt.")
    return view


async def _change(
    request: Request, session: AsyncSession, library_id: str, prompt_id: str
) -> tuple[Desk, dict[str, str], PromptView]:
    """A posted change to one prompt: the curator, the CSRF-checked form, the prompt."""
    desk = await open_desk(request, session)
    form = await desk.form()
    return desk, form, await _prompt(desk, library_id, prompt_id, for_change=True)


def _values(view: PromptView) -> dict[str, object]:
    working = view.working
    return {
        "text": working.text,
        "category": str(working.category),
        "depth": working.depth,
        "kind": str(working.kind),
        "listener_guidance": working.listener_guidance or "",
        "tags": ", ".join(working.tags),
        "sensitive": working.sensitive,
    }


@router.get("/libraries/{library_id}/prompts/{prompt_id}")
@console_page
async def console_prompt(
    request: Request, session: SessionDep, library_id: str, prompt_id: str
) -> Response:
    desk = await open_desk(request, session)
    view = await _prompt(desk, library_id, prompt_id)
    return desk.page(
        "prompt.html",
        view=view,
        item=view.library,
        values=_values(view),
        rules=PROMPT_RULES,
        choices=PROMPT_CHOICES,
        **await page_context(session, view),
    )


@router.post("/libraries/{library_id}/prompts/{prompt_id}")
@console_page
async def console_prompt_update(
    request: Request, session: SessionDep, library_id: str, prompt_id: str
) -> Response:
    desk, form, view = await _change(request, session, library_id, prompt_id)
    fields = prompt_fields(form)
    fields.setdefault("listener_guidance", None)
    fields.setdefault("tags", [])
    try:
        data = PromptUpdate.model_validate(fields)
    except ValidationError as error:
        raise invalid(error) from None
    await library_prompts.update_prompt(session, desk.me, view, data)
    return RedirectResponse(f"{PREFIX}/libraries/{view.library.id}", status_code=303)


@router.post("/libraries/{library_id}/prompts/{prompt_id}/remove")
@console_page
async def console_prompt_remove(
    request: Request, session: SessionDep, library_id: str, prompt_id: str
) -> Response:
    desk, _, view = await _change(request, session, library_id, prompt_id)
    await library_prompts.remove_prompt(session, desk.me, view)
    return RedirectResponse(f"{PREFIX}/libraries/{view.library.id}", status_code=303)


def _translations_of(view: PromptView) -> RedirectResponse:
    where = f"{PREFIX}/libraries/{view.library.id}/prompts/{view.prompt.id}#translations"
    return RedirectResponse(where, status_code=303)


@router.post("/libraries/{library_id}/prompts/{prompt_id}/translations")
@console_page
async def console_translation_write(
    request: Request, session: SessionDep, library_id: str, prompt_id: str
) -> Response:
    """Write the draft into a language, as `PUT .../translations/{language}`."""
    desk, form, view = await _change(request, session, library_id, prompt_id)
    data = parse(TranslationForm, translation_fields(form))
    await translations.write_draft(
        session, desk.me, view, data.language, data.text, data.listener_guidance
    )
    return _translations_of(view)


@router.post("/libraries/{library_id}/prompts/{prompt_id}/translations/{language}/remove")
@console_page
async def console_translation_remove(
    request: Request, session: SessionDep, library_id: str, prompt_id: str, language: str
) -> Response:
    """Drop the draft, as `DELETE .../translations/{language}`."""
    desk, _, view = await _change(request, session, library_id, prompt_id)
    await translations.remove_draft(session, desk.me, view, language)
    return _translations_of(view)


@router.post("/libraries/{library_id}/prompts/{prompt_id}/translations/{language}/withdraw")
@console_page
async def console_translation_withdraw(
    request: Request, session: SessionDep, library_id: str, prompt_id: str, language: str
) -> Response:
    """Take the live one down at the next publication, as `POST .../withdraw`."""
    desk, _, view = await _change(request, session, library_id, prompt_id)
    await translations.withdraw_live(session, desk.me, view, language)
    return _translations_of(view)
