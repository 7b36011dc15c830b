"""The curation audit log: who changed which curated content, with before and after."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.core.pagination import Page, PageParams
from app.core.problems import responses_for
from app.db import SessionDep
from app.routers.curation_routes import AUTH_ERRORS, Curator
from app.schemas.audit import AuditEntryOut
from app.services import audit
from app.services.roles import require_curator

router = APIRouter(prefix="/v1/admin", tags=["admin-content"])


@router.get(
    "/audit",
    summary="List curation audit entries",
    response_model=Page[AuditEntryOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def admin_audit_list(
    params: PageParams,
    actor: Curator,
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
    await require_curator(session, actor)
    window = await audit.list_entries(
        session, params, entity_type=entity_type, entity_id=entity_id, actor=actor_id
    )
    return Page[AuditEntryOut].of(window, AuditEntryOut.model_validate)
