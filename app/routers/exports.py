"""Personal data exports: ask for one, watch its state, download the archive once ready."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from app.core.clock import Now
from app.core.etag import resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.models.exports import Export, ExportState
from app.schemas.exports import ExportLinks, ExportOut
from app.schemas.exports_archive import ExportArchive
from app.services import exports as service
from app.services.erasure import FirstPartyOnly

router = APIRouter(prefix="/v1/me/exports", tags=["me"])
AUTH_ERRORS = (Unauthorized, InsufficientScope, FirstPartyOnly)
Owner = Annotated[Member, member(Scope.profile)]
_LOCATION = {
    "Location": {
        "description": "The export's own URL.",
        "schema": {"type": "string", "format": "uri-reference"},
    }
}


def _out(export: Export, request: Request) -> ExportOut:
    now = request.app.state.clock()
    state = service.state_of(export, now)
    base = f"/v1/me/exports/{export.id}"
    return ExportOut(
        id=export.id,
        state=state,
        created_at=export.created_at,
        ready_at=export.ready_at,
        expires_at=export.expires_at,
        size=export.size_bytes if state is ExportState.ready else None,
        links=ExportLinks(
            self=base, archive=f"{base}/archive" if state is ExportState.ready else None
        ),
    )


@router.post(
    "",
    summary="Export my data",
    status_code=202,
    response_model=ExportOut,
    responses={
        202: {"description": "The export is queued, or already in progress", "headers": _LOCATION},
        **responses_for(*AUTH_ERRORS),
    },
)
async def exports_create(request: Request, me: Owner, session: SessionDep, now: Now) -> Response:
    """Start building an archive of everything you wrote and what your partner shared with
    you (GDPR Arts. 15 and 20); poll `GET /v1/me/exports/{export_id}` until it is `ready`,
    then download `links.archive`. At most one export is pending or running per person: while
    one is, asking again answers that one (`202`, same `Location`). Only the Rapport app
    itself (first-party) may ask; needs `profile`."""
    export = await service.start_export(session, me, now)
    body = _out(export, request)
    return resource_response(request, body, status_code=202, headers={"Location": body.links.self})


@router.get(
    "",
    summary="List my exports",
    response_model=Page[ExportOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def exports_list(
    request: Request, me: Owner, session: SessionDep, params: PageParams
) -> Page[ExportOut]:
    """Your exports, newest first, until the retention sweep removes them after expiry."""
    window = await service.list_exports(session, me, params)
    return Page.of(window, lambda export: _out(export, request))


@router.get(
    "/{export_id}",
    summary="Get an export",
    response_model=ExportOut,
    responses=responses_for(*AUTH_ERRORS, service.ExportNotFound),
)
async def exports_get(
    request: Request, export_id: uuid.UUID, me: Owner, session: SessionDep
) -> Response:
    """The export's state; once `ready`, `links.archive` downloads it until `expires_at`."""
    export = await service.get_export(session, me, export_id)
    return resource_response(request, _out(export, request))


@router.get(
    "/{export_id}/archive",
    summary="Download an export",
    response_model=ExportArchive,
    responses={
        200: {
            "description": "The archive: one JSON document (see docs/export.md), streamed",
            "headers": {
                "Content-Disposition": {
                    "description": "`attachment`, with a file name.",
                    "schema": {"type": "string"},
                },
                "Content-Length": {
                    "description": "The archive's size in bytes.",
                    "schema": {"type": "integer"},
                },
            },
        },
        **responses_for(
            *AUTH_ERRORS, service.ExportNotFound, service.ExportNotReady, service.ExportGone
        ),
    },
)
async def exports_archive(
    request: Request, export_id: uuid.UUID, me: Owner, session: SessionDep, now: Now
) -> Response:
    """The archive of a `ready` export, with the same bearer token as the person who asked
    for it, until `expires_at` (`RAPPORT_EXPORT_TTL_SECONDS`, a day by default); `409` before
    it is ready, `410` after it expired. Sent `Cache-Control: no-store`: it holds private
    writing. Only the Rapport app itself (first-party) may download it."""
    settings = request.app.state.settings
    archive = await service.open_archive(session, me, export_id, now, settings.export_directory)
    name = f"rapport-export-{archive.created_at:%Y-%m-%d}-{archive.export_id.hex[:8]}.json"
    return StreamingResponse(
        archive.chunks,
        media_type="application/json",
        headers={
            "Content-Length": str(archive.size),
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
