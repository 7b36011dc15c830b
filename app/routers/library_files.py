"""Libraries as files: export in the format import and the starter content use. (Import sits
with the other ways to create a library, in `routers.libraries`.)"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.core.etag import resource_response
from app.core.problems import responses_for
from app.db import SessionDep
from app.routers.curation_routes import AUTH_ERRORS, Curator
from app.schemas.library_files import LibraryFile
from app.services import library_files as service
from app.services.libraries import LibraryNotFound
from app.services.roles import require_curator

router = APIRouter(prefix="/v1/admin", tags=["admin-content"])


@router.get(
    "/libraries/{library_id}/export",
    summary="Export a library file",
    response_model=LibraryFile,
    responses=responses_for(*AUTH_ERRORS, LibraryNotFound),
)
async def admin_libraries_export(
    request: Request, library_id: uuid.UUID, actor: Curator, session: SessionDep
) -> Response:
    """The working copy (removed prompts left out) in the format import and the starter
    content use."""
    await require_curator(session, actor)
    slug, document = await service.export_file(session, library_id)
    disposition = f'attachment; filename="{slug}.json"'
    return resource_response(request, document, headers={"Content-Disposition": disposition})
