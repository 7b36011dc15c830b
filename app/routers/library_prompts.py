"""Curating the prompts of a library: add, read, change (as versions), remove."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

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
from app.services import library_prompts as service
from app.services.libraries import LibraryLocked, LibraryNotFound
from app.services.roles import require_curator

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
