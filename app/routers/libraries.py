"""Curating prompt libraries: create (or import from a file), list, read, change, and the
life-cycle moves. The plumbing shared with repair templates is `routers.curation_routes`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import Page
from app.core.problems import (
    UnprocessableContent,
    responses_for,
)
from app.db import SessionDep
from app.models.prompts import LibraryStatus, PromptLibrary
from app.routers.curation_routes import AUTH_ERRORS, CurationRoutes, Curator, Doc, Move
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
    kind=service.KIND,
    detail=library_detail,
    location="/v1/admin/libraries/{id}",
    detail_model=LibraryDetail,
)
_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LibraryFile"}}},
    }
}


ROUTES.add_collection(
    router,
    path="/libraries",
    operation="admin_libraries",
    create_body=LibraryCreate,
    create=service.create_library,
    created=Doc("Create a library", "A new, empty library in draft.", (UnprocessableContent,)),
    page_model=Page[LibraryOut],
    summary_of=LibraryOut.model_validate,
    status_type=LibraryStatus,
    listed=Doc("List libraries", "Every library whatever its status, by slug."),
)


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


ROUTES.add_item(
    router,
    path="/libraries/{library_id:uuid}",
    id_name="library_id",
    operation="admin_libraries",
    update_body=LibraryUpdate,
    update=service.update_library,
    shown=Doc("Get a library", "The library with its working prompts and its version history."),
    changed=Doc(
        "Change a library",
        "Change the title, description, locale or stages; `If-Match` is required. A published\n"
        "library goes back to draft; members keep its published version, title and description\n"
        "included, until the next publication.",
    ),
)
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
