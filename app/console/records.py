"""The console's pages around the content: import and export of library files, the audit
log with its filters, and (for admins) the OAuth clients. Same services as the admin API."""

from __future__ import annotations

import json
from typing import Final

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from app.console import forms
from app.console.sections import SECTIONS
from app.console.web import PREFIX, Leave, console_page, open_desk, parse_id, user_names
from app.core.pagination import PageQuery
from app.core.security import Scope
from app.db import SessionDep
from app.schemas.admin_clients import ClientCreate
from app.services import admin_clients, audit, curation, library_files
from app.services.libraries import KIND as LIBRARIES

router = APIRouter(prefix=PREFIX, include_in_schema=False)
MAX_FILE: Final = 2_000_000
ENTITY_TYPES: Final = {section.kind.entity: section.label for section in SECTIONS.values()} | {
    "prompt": "Prompts"
}


@router.get("/import")
@console_page
async def console_import_page(request: Request, session: SessionDep) -> Response:
    desk = await open_desk(request, session)
    return desk.page("import.html", preview=None)


@router.post("/import")
@console_page
async def console_import(request: Request, session: SessionDep) -> Response:
    """Without `confirm`: read the uploaded file and show what importing it would create.
    With it: import the very text previewed, as `POST /v1/admin/libraries/import` does."""
    desk = await open_desk(request, session)
    form = await desk.form()
    raw = form.get("document", "")
    if "confirm" not in form:
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile):
            raise Leave(desk.page("import.html", preview=None, error="Choose a file to import."))
        raw = (await upload.read(MAX_FILE + 1))[:MAX_FILE].decode("utf-8", errors="replace")
        data = library_files.parse_library_file(raw)
        taken = await curation.slug_exists(session, LIBRARIES, data.slug)
        return desk.page("import.html", preview=data, taken=taken, document=raw)
    library = await library_files.import_file(session, desk.me, raw.encode())
    return RedirectResponse(f"{PREFIX}/libraries/{library.id}", status_code=303)


@router.get("/libraries/{library_id}/export")
@console_page
async def console_export(request: Request, session: SessionDep, library_id: str) -> Response:
    await open_desk(request, session)
    wanted = parse_id(library_id)
    if wanted is None:
        raise LIBRARIES.problems.not_found("No library has this id.")
    slug, document = await library_files.export_file(session, wanted)
    body = json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=2)
    return Response(
        body + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{slug}.json"'},
    )


@router.get("/audit")
@console_page
async def console_audit(
    request: Request,
    session: SessionDep,
    entity_type: str = "",
    entity_id: str = "",
    action: str = "",
) -> Response:
    desk = await open_desk(request, session)
    window = await audit.list_entries(
        session,
        PageQuery(limit=100),
        entity_type=entity_type if entity_type in ENTITY_TYPES else None,
        entity_id=parse_id(entity_id) if entity_id else None,
        action=action if action in curation.ACTIONS else None,
    )
    entries = window.items
    names = await user_names(session, {e.actor_user_id for e in entries})
    return desk.page(
        "audit.html",
        entries=entries,
        names=names,
        entity_types=ENTITY_TYPES,
        chosen={"entity_type": entity_type, "entity_id": entity_id, "action": action},
        actions=sorted(curation.ACTIONS),
    )


@router.get("/clients")
@console_page
async def console_clients(request: Request, session: SessionDep) -> Response:
    desk = await open_desk(request, session)
    window = await admin_clients.list_clients(session, desk.me, PageQuery(limit=100))
    return desk.page(
        "clients.html", clients=window.items, rules=forms.CLIENT_RULES, scopes=list(Scope)
    )


@router.post("/clients")
@console_page
async def console_client_register(request: Request, session: SessionDep) -> Response:
    """Register a client, as `POST /v1/admin/clients`; its secret is shown on this page only."""
    desk = await open_desk(request, session)
    form = await desk.form()
    data = forms.parse(
        ClientCreate,
        {
            "name": form.get("name", "").strip(),
            "redirect_uris": form.get("redirect_uris", "").split(),
            "scopes": await desk.picked("scopes"),
            "confidential": form.get("confidential") == "on",
        },
    )
    registered = await admin_clients.create_client(
        session,
        desk.me,
        name=data.name,
        redirect_uris=data.redirect_uris,
        scopes=[scope.value for scope in data.scopes],
        confidential=data.confidential,
    )
    return desk.page("client_registered.html", client=registered.client, secret=registered.secret)


@router.post("/clients/{client_id}/{change}")
@console_page
async def console_client_change(
    request: Request, session: SessionDep, client_id: str, change: str
) -> Response:
    """Revoke (disable, which revokes its tokens) or enable a client, as `PATCH` on
    `/v1/admin/clients/{client_id}` does."""
    desk = await open_desk(request, session)
    await desk.form()
    client = await admin_clients.get_client(session, desk.me, client_id)
    if change not in ("disable", "enable"):
        raise admin_clients.ClientNotFound("No such change for a client.")
    changes = admin_clients.ClientChanges(disabled=change == "disable")
    await admin_clients.update_client(session, client, changes)
    return RedirectResponse(f"{PREFIX}/clients", status_code=303)
