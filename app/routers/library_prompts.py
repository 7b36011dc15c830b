"""Curating the prompts of a library: add, read, change (as versions), remove."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.core.etag import check_if_match, resource_response
from app.core.problems import (
    PreconditionFailed,
    PreconditionRequired,
    UnprocessableContent,
    responses_for,
)
from app.db import SessionDep
from app.routers.curation_routes import AUTH_ERRORS, Curator
from app.schemas.library_prompts import PromptCreate, PromptDetail, PromptUpdate
from app.schemas.translations import LANGUAGE_PATTERN, PromptTranslations, TranslationIn
from app.services import library_prompts as service
from app.services.libraries import LibraryLocked, LibraryNotFound
from app.services.roles import require_curator
from app.services.translations import (
    LiveTranslationNotFound,
    SameLanguage,
    TranslationNotFound,
    remove_draft,
    translations_of,
    withdraw_live,
    write_draft,
)

router = APIRouter(prefix="/v1/admin", tags=["admin-content"])
IF_MATCH_ERRORS = (PreconditionFailed, PreconditionRequired)


@router.post(
    "/libraries/{library_id}/prompts",
    summary="Add a prompt to a library",
    status_code=201,
    response_model=PromptDetail,
    responses=responses_for(
        *AUTH_ERRORS,
        LibraryNotFound,
        LibraryLocked,
        service.PromptKeyTaken,
        UnprocessableContent,
    ),
)
async def admin_prompts_create(
    request: Request,
    library_id: uuid.UUID,
    data: PromptCreate,
    actor: Curator,
    session: SessionDep,
) -> Response:
    """A new prompt with a first draft version; it goes live at the next publication."""
    me = await require_curator(session, actor)
    view = await service.create_prompt(session, me, library_id, data)
    return resource_response(
        request,
        PromptDetail.of_view(view),
        status_code=201,
        headers={"Location": f"/v1/admin/prompts/{view.prompt.id}"},
    )


@router.get(
    "/prompts/{prompt_id}",
    summary="Get a prompt",
    response_model=PromptDetail,
    responses=responses_for(*AUTH_ERRORS, service.PromptNotFound),
)
async def admin_prompts_get(
    request: Request, prompt_id: uuid.UUID, actor: Curator, session: SessionDep
) -> Response:
    """The prompt's working version and every version it had."""
    await require_curator(session, actor)
    view = await service.get_prompt(session, prompt_id)
    return resource_response(request, PromptDetail.of_view(view))


@router.patch(
    "/prompts/{prompt_id}",
    summary="Change a prompt",
    response_model=PromptDetail,
    responses=responses_for(
        *AUTH_ERRORS,
        *IF_MATCH_ERRORS,
        service.PromptNotFound,
        service.PromptRemoved,
        LibraryLocked,
        UnprocessableContent,
    ),
)
async def admin_prompts_update(
    request: Request,
    prompt_id: uuid.UUID,
    data: PromptUpdate,
    actor: Curator,
    session: SessionDep,
) -> Response:
    """`If-Match` is required. A draft version is edited in place; a published one never
    changes: a new draft version is added, so answers keep the exact wording answered."""
    me = await require_curator(session, actor)
    view = await service.get_prompt(session, prompt_id, for_change=True)
    check_if_match(request, PromptDetail.of_view(view), required=True)
    view = await service.update_prompt(session, me, view, data)
    return resource_response(request, PromptDetail.of_view(view))


@router.delete(
    "/prompts/{prompt_id}",
    summary="Remove a prompt",
    status_code=204,
    responses=responses_for(
        *AUTH_ERRORS, PreconditionFailed, service.PromptNotFound, LibraryLocked
    ),
)
async def admin_prompts_remove(
    request: Request, prompt_id: uuid.UUID, actor: Curator, session: SessionDep
) -> Response:
    """Members keep seeing it until the library's next publication. Its versions stay, so
    answers to it keep their wording."""
    me = await require_curator(session, actor)
    view = await service.get_prompt(session, prompt_id, for_change=True)
    check_if_match(request, PromptDetail.of_view(view))
    await service.remove_prompt(session, me, view)
    return Response(status_code=204)


TRANSLATION_PATH = "/prompts/{prompt_id}/translations"
LanguagePath = Annotated[
    str,
    Path(
        pattern=LANGUAGE_PATTERN,
        examples=["de"],
        description="The language (ISO 639 code, lowercase).",
    ),
]


@router.get(
    TRANSLATION_PATH,
    summary="List a prompt's translations",
    response_model=PromptTranslations,
    responses=responses_for(*AUTH_ERRORS, service.PromptNotFound),
)
async def admin_prompt_translations_list(
    request: Request, prompt_id: uuid.UUID, actor: Curator, session: SessionDep
) -> Response:
    """The translations of the prompt's working version: live ones, and the drafts that go
    live at the library's next publication."""
    await require_curator(session, actor)
    view = await service.get_prompt(session, prompt_id)
    return resource_response(request, PromptTranslations.of(await translations_of(session, view)))


@router.put(
    TRANSLATION_PATH + "/{language}",
    summary="Write a prompt's translation",
    response_model=PromptTranslations,
    responses=responses_for(
        *AUTH_ERRORS,
        service.PromptNotFound,
        service.PromptRemoved,
        LibraryLocked,
        SameLanguage,
        UnprocessableContent,
    ),
)
async def admin_prompt_translations_put(
    request: Request,
    prompt_id: uuid.UUID,
    language: LanguagePath,
    data: TranslationIn,
    actor: Curator,
    session: SessionDep,
) -> Response:
    """Write the draft translation of the working version into `language`. Like any edit it
    sends a published library back to draft; members read the translation once the library
    is published again (by another curator or an admin)."""
    me = await require_curator(session, actor)
    view = await service.get_prompt(session, prompt_id, for_change=True)
    written = await write_draft(session, me, view, language, data.text, data.listener_guidance)
    return resource_response(request, PromptTranslations.of(written))


@router.delete(
    TRANSLATION_PATH + "/{language}",
    summary="Remove a prompt's draft translation",
    status_code=204,
    responses=responses_for(
        *AUTH_ERRORS, service.PromptNotFound, TranslationNotFound, LibraryLocked
    ),
)
async def admin_prompt_translations_remove(
    prompt_id: uuid.UUID, language: LanguagePath, actor: Curator, session: SessionDep
) -> Response:
    """Drop the draft; a live translation stays until a newer one is published."""
    me = await require_curator(session, actor)
    view = await service.get_prompt(session, prompt_id, for_change=True)
    await remove_draft(session, me, view, language)
    return Response(status_code=204)


@router.post(
    TRANSLATION_PATH + "/{language}/withdraw",
    summary="Withdraw a prompt's live translation",
    response_model=PromptTranslations,
    responses=responses_for(
        *AUTH_ERRORS, service.PromptNotFound, LiveTranslationNotFound, LibraryLocked
    ),
)
async def admin_prompt_translations_withdraw(
    request: Request,
    prompt_id: uuid.UUID,
    language: LanguagePath,
    actor: Curator,
    session: SessionDep,
) -> Response:
    """Take the live translation into `language` down, and drop its draft if any. Like any
    edit it sends a published library back to draft: members read the translation until the
    library is published again (by another curator or an admin), then the prompt's own
    language."""
    me = await require_curator(session, actor)
    view = await service.get_prompt(session, prompt_id, for_change=True)
    withdrawn = await withdraw_live(session, me, view, language)
    return resource_response(request, PromptTranslations.of(withdrawn))
