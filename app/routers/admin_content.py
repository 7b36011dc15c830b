"""Curating prompt libraries: libraries, their prompts, the life cycle, files, the audit log.

Every operation needs the `admin:content` scope and, checked on each request since roles
change, an account whose role is curator or admin.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.etag import check_if_match, resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.prompts import LibraryStatus, Prompt, PromptLibrary, PromptVersion
from app.schemas.libraries import (
    AuditEntryOut,
    LibraryCreate,
    LibraryDetail,
    LibraryFile,
    LibraryOut,
    LibraryUpdate,
    LibraryVersionOut,
    PromptCreate,
    PromptDetail,
    PromptOut,
    PromptUpdate,
    PromptVersionOut,
    ReturnRequest,
)
from app.services import audit, library_files, library_prompts
from app.services import libraries as service
from app.services.library_prompts import PromptView

router = APIRouter(prefix="/v1/admin", tags=["admin-content"])
Curating = Annotated[Actor, require(Scope.admin_content)]
AUTH_ERRORS = (Unauthorized, InsufficientScope, service.NotCurator)
IF_MATCH_ERRORS = (PreconditionFailed, PreconditionRequired)
MOVE_ERRORS = (*AUTH_ERRORS, service.LibraryNotFound, service.IllegalTransition, PreconditionFailed)
_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LibraryFile"}}},
    }
}


def prompt_out(prompt: Prompt, working: PromptVersion) -> PromptOut:
    return PromptOut(
        id=prompt.id,
        library_id=prompt.library_id,
        key=prompt.key,
        created_at=prompt.created_at,
        removed_at=prompt.removed_at,
        working=PromptVersionOut.model_validate(working),
    )


def prompt_detail(view: PromptView) -> PromptDetail:
    return PromptDetail(
        **prompt_out(view.prompt, view.working).model_dump(),
        versions=[PromptVersionOut.model_validate(version) for version in view.versions],
    )


def library_detail(view: service.LibraryView) -> LibraryDetail:
    return LibraryDetail(
        **LibraryOut.model_validate(view.library).model_dump(),
        allowed_transitions=service.allowed_moves(view.library.status),
        prompts=[prompt_out(prompt, version) for prompt, version in view.prompts],
        versions=[LibraryVersionOut.model_validate(version) for version in view.versions],
    )


async def _detail(session: AsyncSession, library: PromptLibrary) -> LibraryDetail:
    return library_detail(await service.load_view(session, library))


# --- libraries ---------------------------------------------------------------------------


@router.post(
    "/libraries",
    summary="Create a library",
    status_code=201,
    response_model=LibraryDetail,
    responses=responses_for(*AUTH_ERRORS, service.SlugTaken, UnprocessableContent),
)
async def admin_libraries_create(
    request: Request, data: LibraryCreate, actor: Curating, session: SessionDep
) -> Response:
    """A new, empty library in draft."""
    editor = await service.authorize(session, actor)
    library = await service.create_library(session, editor, data)
    return resource_response(
        request,
        await _detail(session, library),
        status_code=201,
        headers={"Location": f"/v1/admin/libraries/{library.id}"},
    )


@router.get(
    "/libraries",
    summary="List libraries",
    response_model=Page[LibraryOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def admin_libraries_list(
    params: PageParams,
    actor: Curating,
    session: SessionDep,
    status: Annotated[LibraryStatus | None, Query(description="Only this status.")] = None,
) -> Page[LibraryOut]:
    """Every library whatever its status, by slug."""
    await service.authorize(session, actor)
    window = await service.list_libraries(session, params, status=status)
    return Page[LibraryOut].of(window, LibraryOut.model_validate)


@router.post(
    "/libraries/import",
    summary="Import a library file",
    status_code=201,
    response_model=LibraryDetail,
    openapi_extra=_FILE_BODY,
    responses=responses_for(*AUTH_ERRORS, library_files.InvalidLibraryFile, service.SlugTaken),
)
async def admin_libraries_import(
    request: Request, actor: Curating, session: SessionDep
) -> Response:
    """Create a draft library from a file in the export format. The file is checked as a
    whole: any invalid item rejects it with every problem named by a JSON pointer (such as
    `#/prompts/12/depth`), and nothing is written."""
    editor = await service.authorize(session, actor)
    data = library_files.parse_library_file(await request.body())
    library = await library_files.import_library(session, editor, data)
    return resource_response(
        request,
        await _detail(session, library),
        status_code=201,
        headers={"Location": f"/v1/admin/libraries/{library.id}"},
    )


@router.get(
    "/libraries/{library_id}",
    summary="Get a library",
    response_model=LibraryDetail,
    responses=responses_for(*AUTH_ERRORS, service.LibraryNotFound),
)
async def admin_libraries_get(
    request: Request, library_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """The library with its working prompts and its version history."""
    await service.authorize(session, actor)
    library = await service.get_library(session, library_id)
    return resource_response(request, await _detail(session, library))


@router.patch(
    "/libraries/{library_id}",
    summary="Change a library",
    response_model=LibraryDetail,
    responses=responses_for(
        *AUTH_ERRORS,
        *IF_MATCH_ERRORS,
        service.LibraryNotFound,
        service.LibraryLocked,
        UnprocessableContent,
    ),
)
async def admin_libraries_update(
    request: Request,
    library_id: uuid.UUID,
    data: LibraryUpdate,
    actor: Curating,
    session: SessionDep,
) -> Response:
    """Change the title, description, locale or stages; `If-Match` is required. A published
    library goes back to draft; members keep its live version until the next publication."""
    editor = await service.authorize(session, actor)
    library = await service.get_library(session, library_id, for_change=True)
    check_if_match(request, await _detail(session, library), required=True)
    await service.update_library(session, editor, library, data)
    return resource_response(request, await _detail(session, library))


async def _move(
    request: Request,
    library_id: uuid.UUID,
    actor: Actor,
    session: AsyncSession,
    move: str,
    comment: str | None = None,
) -> Response:
    editor = await service.authorize(session, actor)
    library = await service.get_library(session, library_id, for_change=True)
    check_if_match(request, await _detail(session, library))
    await service.transition(session, editor, library, move, comment=comment)
    return resource_response(request, await _detail(session, library))


@router.post(
    "/libraries/{library_id}/submit",
    summary="Submit a library for review",
    response_model=LibraryDetail,
    responses=responses_for(*MOVE_ERRORS, service.EmptyLibrary),
)
async def admin_libraries_submit(
    request: Request, library_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """draft → review. The library needs at least one prompt."""
    return await _move(request, library_id, actor, session, "submit")


@router.post(
    "/libraries/{library_id}/publish",
    summary="Publish a library",
    response_model=LibraryDetail,
    responses=responses_for(*MOVE_ERRORS),
)
async def admin_libraries_publish(
    request: Request, library_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """review → published: freeze the working copy as the next numbered version. Draft
    prompt versions go live, replacing the versions members saw; removed prompts leave."""
    return await _move(request, library_id, actor, session, "publish")


@router.post(
    "/libraries/{library_id}/return",
    summary="Return a library to draft",
    response_model=LibraryDetail,
    responses=responses_for(*MOVE_ERRORS, UnprocessableContent),
)
async def admin_libraries_return(
    request: Request,
    library_id: uuid.UUID,
    actor: Curating,
    session: SessionDep,
    data: ReturnRequest | None = None,
) -> Response:
    """review → draft, with an optional comment kept in the audit log."""
    comment = data.comment if data else None
    return await _move(request, library_id, actor, session, "return", comment)


@router.post(
    "/libraries/{library_id}/archive",
    summary="Archive a library",
    response_model=LibraryDetail,
    responses=responses_for(*MOVE_ERRORS),
)
async def admin_libraries_archive(
    request: Request, library_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """Any status → archived: members stop seeing it at once."""
    return await _move(request, library_id, actor, session, "archive")


@router.post(
    "/libraries/{library_id}/restore",
    summary="Restore an archived library",
    response_model=LibraryDetail,
    responses=responses_for(*MOVE_ERRORS),
)
async def admin_libraries_restore(
    request: Request, library_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """archived → draft. A library published before it was archived is seen by members
    again in its last published version."""
    return await _move(request, library_id, actor, session, "restore")


@router.get(
    "/libraries/{library_id}/export",
    summary="Export a library file",
    response_model=LibraryFile,
    responses=responses_for(*AUTH_ERRORS, service.LibraryNotFound),
)
async def admin_libraries_export(
    request: Request, library_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """The working copy (removed prompts left out) in the format import and the starter
    content use."""
    await service.authorize(session, actor)
    library = await service.get_library(session, library_id)
    document = library_files.library_file(await service.load_view(session, library))
    disposition = f'attachment; filename="{library.slug}.json"'
    return resource_response(request, document, headers={"Content-Disposition": disposition})


# --- prompts -----------------------------------------------------------------------------


@router.post(
    "/libraries/{library_id}/prompts",
    summary="Add a prompt to a library",
    status_code=201,
    response_model=PromptDetail,
    responses=responses_for(
        *AUTH_ERRORS,
        service.LibraryNotFound,
        service.LibraryLocked,
        library_prompts.PromptKeyTaken,
        UnprocessableContent,
    ),
)
async def admin_prompts_create(
    request: Request,
    library_id: uuid.UUID,
    data: PromptCreate,
    actor: Curating,
    session: SessionDep,
) -> Response:
    """A new prompt with a first draft version; it goes live at the next publication."""
    editor = await service.authorize(session, actor)
    library = await service.get_library(session, library_id, for_change=True)
    view = await library_prompts.create_prompt(session, editor, library, data)
    return resource_response(
        request,
        prompt_detail(view),
        status_code=201,
        headers={"Location": f"/v1/admin/prompts/{view.prompt.id}"},
    )


@router.get(
    "/prompts/{prompt_id}",
    summary="Get a prompt",
    response_model=PromptDetail,
    responses=responses_for(*AUTH_ERRORS, library_prompts.PromptNotFound),
)
async def admin_prompts_get(
    request: Request, prompt_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """The prompt's working version and every version it had."""
    await service.authorize(session, actor)
    view = await library_prompts.get_prompt(session, prompt_id)
    return resource_response(request, prompt_detail(view))


@router.patch(
    "/prompts/{prompt_id}",
    summary="Change a prompt",
    response_model=PromptDetail,
    responses=responses_for(
        *AUTH_ERRORS,
        *IF_MATCH_ERRORS,
        library_prompts.PromptNotFound,
        library_prompts.PromptRemoved,
        service.LibraryLocked,
        UnprocessableContent,
    ),
)
async def admin_prompts_update(
    request: Request,
    prompt_id: uuid.UUID,
    data: PromptUpdate,
    actor: Curating,
    session: SessionDep,
) -> Response:
    """`If-Match` is required. A draft version is edited in place; a published one never
    changes: a new draft version is added, so answers keep the exact wording answered."""
    editor = await service.authorize(session, actor)
    view = await library_prompts.get_prompt(session, prompt_id, for_change=True)
    check_if_match(request, prompt_detail(view), required=True)
    view = await library_prompts.update_prompt(session, editor, view, data)
    return resource_response(request, prompt_detail(view))


@router.delete(
    "/prompts/{prompt_id}",
    summary="Remove a prompt",
    status_code=204,
    responses=responses_for(
        *AUTH_ERRORS, PreconditionFailed, library_prompts.PromptNotFound, service.LibraryLocked
    ),
)
async def admin_prompts_remove(
    request: Request, prompt_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """Members keep seeing it until the library's next publication. Its versions stay, so
    answers to it keep their wording."""
    editor = await service.authorize(session, actor)
    view = await library_prompts.get_prompt(session, prompt_id, for_change=True)
    check_if_match(request, prompt_detail(view))
    await library_prompts.remove_prompt(session, editor, view)
    return Response(status_code=204)


# --- audit log ---------------------------------------------------------------------------


@router.get(
    "/audit",
    summary="List curation audit entries",
    response_model=Page[AuditEntryOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def admin_audit_list(
    params: PageParams,
    actor: Curating,
    session: SessionDep,
    entity_type: Annotated[
        str | None, Query(max_length=32, description="`library` or `prompt`.")
    ] = None,
    entity_id: Annotated[uuid.UUID | None, Query()] = None,
    actor_id: Annotated[
        uuid.UUID | None, Query(alias="actor", description="The user who made the change.")
    ] = None,
) -> Page[AuditEntryOut]:
    """Newest first."""
    await service.authorize(session, actor)
    window = await audit.list_entries(
        session, params, entity_type=entity_type, entity_id=entity_id, actor=actor_id
    )
    return Page[AuditEntryOut].of(window, AuditEntryOut.model_validate)
