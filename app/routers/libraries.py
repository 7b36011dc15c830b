"""Curating prompt libraries: create (or import from a file), list, read, change, and the
life-cycle moves. The plumbing shared with repair templates is `routers.curation_routes`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import Page, PageParams
from app.core.problems import (
    PreconditionFailed,
    PreconditionRequired,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member
from app.db import SessionDep
from app.models.prompts import LibraryStatus, PromptLibrary
from app.routers.curation_routes import AUTH_ERRORS, CurationRoutes, Curator, Move
from app.schemas.libraries import (
    LibraryCreate,
    LibraryDetail,
    LibraryOut,
    LibraryUpdate,
    ReturnRequest,
)
from app.services import libraries as service
from app.services import library_files

router = APIRouter(prefix="/v1/admin", tags=["admin-content"])


async def library_detail(session: AsyncSession, library: PromptLibrary) -> LibraryDetail:
    return LibraryDetail.of(await service.load_view(session, library))


ROUTES = CurationRoutes(
    kind=service.KIND, detail=library_detail, location="/v1/admin/libraries/{id}"
)
_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LibraryFile"}}},
    }
}


@router.post(
    "/libraries",
    summary="Create a library",
    status_code=201,
    response_model=LibraryDetail,
    responses=responses_for(*AUTH_ERRORS, service.SlugTaken, UnprocessableContent),
)
async def admin_libraries_create(
    request: Request, data: LibraryCreate, actor: Curator, session: SessionDep
) -> Response:
    """A new, empty library in draft."""
    me = await ROUTES.curator(session, actor)
    return await ROUTES.created(request, session, await service.create_library(session, me, data))


@router.get(
    "/libraries",
    summary="List libraries",
    response_model=Page[LibraryOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def admin_libraries_list(
    params: PageParams,
    actor: Curator,
    session: SessionDep,
    status: Annotated[LibraryStatus | None, Query(description="Only this status.")] = None,
) -> Page[LibraryOut]:
    """Every library whatever its status, by slug."""
    await ROUTES.curator(session, actor)
    window = await service.list_libraries(session, params, status=status)
    return Page[LibraryOut].of(window, LibraryOut.model_validate)


# Here rather than with export in `library_files`: the published schema lists it among the
# ways to create a library, before the routes of one library.
@router.post(
    "/libraries/import",
    summary="Import a library file",
    status_code=201,
    response_model=LibraryDetail,
    openapi_extra=_FILE_BODY,
    responses=responses_for(*AUTH_ERRORS, library_files.InvalidLibraryFile, service.SlugTaken),
)
async def admin_libraries_import(request: Request, actor: Curator, session: SessionDep) -> Response:
    """Create a draft library from a file in the export format. The file is checked as a
    whole: any invalid item rejects it with every problem named by a JSON pointer (such as
    `#/prompts/12/depth`), and nothing is written."""
    me = await ROUTES.curator(session, actor)
    library = await library_files.import_file(session, me, await request.body())
    return await ROUTES.created(request, session, library)


@router.get(
    "/libraries/{library_id:uuid}",
    summary="Get a library",
    response_model=LibraryDetail,
    responses=responses_for(*AUTH_ERRORS, service.LibraryNotFound),
)
async def admin_libraries_get(
    request: Request, library_id: uuid.UUID, actor: Curator, session: SessionDep
) -> Response:
    """The library with its working prompts and its version history."""
    await ROUTES.curator(session, actor)
    return await ROUTES.show(request, session, await service.get_library(session, library_id))


@router.patch(
    "/libraries/{library_id:uuid}",
    summary="Change a library",
    response_model=LibraryDetail,
    responses=responses_for(
        *AUTH_ERRORS,
        PreconditionFailed,
        PreconditionRequired,
        service.LibraryNotFound,
        service.LibraryLocked,
        UnprocessableContent,
    ),
)
async def admin_libraries_update(
    request: Request,
    library_id: uuid.UUID,
    data: LibraryUpdate,
    actor: Curator,
    session: SessionDep,
) -> Response:
    """Change the title, description, locale or stages; `If-Match` is required. A published
    library goes back to draft; members keep its published version, title and description
    included, until the next publication."""

    async def apply(me: Member, library: PromptLibrary) -> object:
        return await service.update_library(session, me, library, data)

    return await ROUTES.change(request, session, actor, library_id, apply, if_match_required=True)


ROUTES.add_moves(
    router,
    path="/libraries/{library_id}",
    id_name="library_id",
    operation="admin_libraries",
    response_model=LibraryDetail,
    comment_body=ReturnRequest,
    moves={
        "submit": Move(
            "Submit a library for review",
            "draft → review. The library needs at least one prompt.",
            (service.EmptyLibrary,),
        ),
        "publish": Move(
            "Publish a library",
            "review → published: freeze the working copy, its details included, as the next\n"
            "numbered version. Draft prompt versions go live, replacing the versions members\n"
            "saw; removed prompts leave.",
        ),
        "return": Move(
            "Return a library to draft",
            "review → draft, with an optional comment kept in the audit log.",
            (UnprocessableContent,),
        ),
        "archive": Move(
            "Archive a library", "Any status → archived: members stop seeing it at once."
        ),
        "restore": Move(
            "Restore an archived library",
            "archived → draft. A library published before it was archived is seen by members\n"
            "again in its last published version.",
        ),
    },
)
