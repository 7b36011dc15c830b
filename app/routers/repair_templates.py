"""Curating repair-plan templates: the same life cycle, role check and audit log as prompt
libraries (the audit log is read at `GET /v1/admin/audit?entity_type=repair_template`).

Every operation needs the `admin:content` scope and, checked on each request since roles
change, an account whose role is curator or admin.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.etag import resource_response
from app.core.pagination import Page
from app.core.problems import (
    UnprocessableContent,
    responses_for,
)
from app.db import SessionDep
from app.models.repair import RepairTemplate, TemplateStatus
from app.routers.curation_routes import AUTH_ERRORS, CurationRoutes, Curator, Doc, Move
from app.schemas.repair_templates import (
    TemplateCreate,
    TemplateDetail,
    TemplateReturn,
    TemplateSummary,
    TemplateUpdate,
    TemplateVersionOut,
)
from app.services import repair_templates as service

router = APIRouter(prefix="/v1/admin/repair-templates", tags=["admin-repair-templates"])
MAX_VERSION = 1_000_000


async def template_detail(session: AsyncSession, template: RepairTemplate) -> TemplateDetail:
    return TemplateDetail.of(await service.load_view(session, template))


ROUTES = CurationRoutes(
    kind=service.KIND,
    detail=template_detail,
    location="/v1/admin/repair-templates/{id}",
    detail_model=TemplateDetail,
)


ROUTES.add_collection(
    router,
    path="",
    operation="admin_repair_templates",
    create_body=TemplateCreate,
    create=service.create_template,
    created=Doc(
        "Create a repair-plan template",
        "A new template in draft; without phases it gets atone → attune → attach, empty.",
        (UnprocessableContent,),
    ),
    page_model=Page[TemplateSummary],
    summary_of=TemplateSummary.model_validate,
    status_type=TemplateStatus,
    listed=Doc(
        "List repair-plan templates",
        "Every template whatever its status, by slug.",
        (UnprocessableContent,),
    ),
)
ROUTES.add_item(
    router,
    path="/{template_id}",
    id_name="template_id",
    operation="admin_repair_templates",
    update_body=TemplateUpdate,
    update=service.update_template,
    shown=Doc("Get a repair-plan template", "The working copy with its version history."),
    changed=Doc(
        "Change a repair-plan template",
        "`If-Match` is required; `phases` replaces all phases. A published template goes back\n"
        "to draft; members keep its published version until the next publication.",
    ),
)


@router.get(
    "/{template_id}/versions/{number}",
    summary="Get a published version of a template",
    response_model=TemplateVersionOut,
    responses=responses_for(*AUTH_ERRORS, service.TemplateVersionNotFound, UnprocessableContent),
)
async def admin_repair_templates_version_get(
    request: Request,
    template_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    actor: Curator,
    session: SessionDep,
) -> Response:
    """A version exactly as it was published: what plans proposed from it copied."""
    await ROUTES.curator(session, actor)
    version = await service.get_version(session, template_id, number)
    return resource_response(request, TemplateVersionOut.model_validate(version))


ROUTES.add_moves(
    router,
    path="/{template_id}",
    id_name="template_id",
    operation="admin_repair_templates",
    response_model=TemplateDetail,
    comment_body=TemplateReturn,
    moves={
        "submit": Move(
            "Submit a template for review",
            "draft → review. The template needs at least one suggested step.",
            (service.EmptyTemplate, service.TranslationsOutdated),
        ),
        "publish": Move(
            "Publish a template",
            "review → published: freeze the working copy as the next numbered version, which\n"
            "members see and new plans copy from now on.",
        ),
        "return": Move(
            "Return a template to draft",
            "review → draft, with an optional comment kept in the audit log.",
            (UnprocessableContent,),
        ),
        "archive": Move(
            "Archive a template",
            "Any status → archived: members stop seeing it at once; plans copied from it keep\n"
            "their copy.",
        ),
        "restore": Move(
            "Restore an archived template",
            "archived → draft. One published before is seen again in its last published version.",
        ),
    },
)
