"""Curating repair-plan templates: the same life cycle, role check and audit log as prompt
libraries (the audit log is read at `GET /v1/admin/audit?entity_type=repair_template`).

Every operation needs the `admin:content` scope and, checked on each request since roles
change, an account whose role is curator or admin.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
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
from app.models.repair import PartnerRole, RepairTemplate, TemplateStatus
from app.schemas.repair_templates import (
    TemplateCreate,
    TemplateDetail,
    TemplateReturn,
    TemplateSummary,
    TemplateUpdate,
    TemplateVersionOut,
    TemplateVersionSummary,
)
from app.services import repair_templates as service
from app.services.libraries import NotCurator, authorize

router = APIRouter(prefix="/v1/admin/repair-templates", tags=["admin-repair-templates"])
Curating = Annotated[Actor, require(Scope.admin_content)]
AUTH_ERRORS = (Unauthorized, InsufficientScope, NotCurator)
MAX_VERSION = 1_000_000
MOVE_ERRORS = (
    *AUTH_ERRORS,
    service.TemplateNotFound,
    service.TemplateIllegalTransition,
    PreconditionFailed,
)


def template_detail(view: service.TemplateView) -> TemplateDetail:
    template = view.template
    return TemplateDetail(
        id=template.id,
        slug=template.slug,
        title=template.title,
        description=template.description,
        locale=template.locale,
        roles=[PartnerRole(role) for role in template.roles],
        phases=service.phases_of(template.phases),
        status=template.status,
        published_version=template.published_version,
        allowed_transitions=service.allowed_moves(template.status),
        versions=[TemplateVersionSummary.model_validate(v) for v in view.versions],
        created_by=template.created_by,
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


async def _detail(session: AsyncSession, template: RepairTemplate) -> TemplateDetail:
    return template_detail(await service.load_view(session, template))


@router.post(
    "",
    summary="Create a repair-plan template",
    status_code=201,
    response_model=TemplateDetail,
    responses=responses_for(*AUTH_ERRORS, service.TemplateSlugTaken, UnprocessableContent),
)
async def admin_repair_templates_create(
    request: Request, data: TemplateCreate, actor: Curating, session: SessionDep
) -> Response:
    """A new template in draft; without phases it gets atone → attune → attach, empty."""
    editor = await authorize(session, actor)
    template = await service.create_template(session, editor, data)
    return resource_response(
        request,
        await _detail(session, template),
        status_code=201,
        headers={"Location": f"/v1/admin/repair-templates/{template.id}"},
    )


@router.get(
    "",
    summary="List repair-plan templates",
    response_model=Page[TemplateSummary],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def admin_repair_templates_list(
    params: PageParams,
    actor: Curating,
    session: SessionDep,
    status: Annotated[TemplateStatus | None, Query(description="Only this status.")] = None,
) -> Page[TemplateSummary]:
    """Every template whatever its status, by slug."""
    await authorize(session, actor)
    window = await service.list_templates(session, params, status=status)
    return Page[TemplateSummary].of(window, TemplateSummary.model_validate)


@router.get(
    "/{template_id}",
    summary="Get a repair-plan template",
    response_model=TemplateDetail,
    responses=responses_for(*AUTH_ERRORS, service.TemplateNotFound),
)
async def admin_repair_templates_get(
    request: Request, template_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """The working copy with its version history."""
    await authorize(session, actor)
    template = await service.get_template(session, template_id)
    return resource_response(request, await _detail(session, template))


@router.patch(
    "/{template_id}",
    summary="Change a repair-plan template",
    response_model=TemplateDetail,
    responses=responses_for(
        *AUTH_ERRORS,
        PreconditionFailed,
        PreconditionRequired,
        service.TemplateNotFound,
        service.TemplateLocked,
        UnprocessableContent,
    ),
)
async def admin_repair_templates_update(
    request: Request,
    template_id: uuid.UUID,
    data: TemplateUpdate,
    actor: Curating,
    session: SessionDep,
) -> Response:
    """`If-Match` is required; `phases` replaces all phases. A published template goes back
    to draft; members keep its published version until the next publication."""
    editor = await authorize(session, actor)
    template = await service.get_template(session, template_id, for_change=True)
    check_if_match(request, await _detail(session, template), required=True)
    await service.update_template(session, editor, template, data)
    return resource_response(request, await _detail(session, template))


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
    actor: Curating,
    session: SessionDep,
) -> Response:
    """A version exactly as it was published: what plans proposed from it copied."""
    await authorize(session, actor)
    version = await service.get_version(session, template_id, number)
    body = TemplateVersionOut(
        number=version.number,
        published_at=version.published_at,
        published_by=version.published_by,
        title=version.title,
        description=version.description,
        locale=version.locale,
        roles=[PartnerRole(role) for role in version.roles],
        phases=service.phases_of(version.phases),
    )
    return resource_response(request, body)


async def _move(
    request: Request,
    template_id: uuid.UUID,
    actor: Actor,
    session: AsyncSession,
    move: str,
    comment: str | None = None,
) -> Response:
    editor = await authorize(session, actor)
    template = await service.get_template(session, template_id, for_change=True)
    check_if_match(request, await _detail(session, template))
    await service.transition(session, editor, template, move, comment=comment)
    return resource_response(request, await _detail(session, template))


@router.post(
    "/{template_id}/submit",
    summary="Submit a template for review",
    response_model=TemplateDetail,
    responses=responses_for(*MOVE_ERRORS, service.EmptyTemplate),
)
async def admin_repair_templates_submit(
    request: Request, template_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """draft → review. The template needs at least one suggested step."""
    return await _move(request, template_id, actor, session, "submit")


@router.post(
    "/{template_id}/publish",
    summary="Publish a template",
    response_model=TemplateDetail,
    responses=responses_for(*MOVE_ERRORS),
)
async def admin_repair_templates_publish(
    request: Request, template_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """review → published: freeze the working copy as the next numbered version, which
    members see and new plans copy from now on."""
    return await _move(request, template_id, actor, session, "publish")


@router.post(
    "/{template_id}/return",
    summary="Return a template to draft",
    response_model=TemplateDetail,
    responses=responses_for(*MOVE_ERRORS, UnprocessableContent),
)
async def admin_repair_templates_return(
    request: Request,
    template_id: uuid.UUID,
    actor: Curating,
    session: SessionDep,
    data: TemplateReturn | None = None,
) -> Response:
    """review → draft, with an optional comment kept in the audit log."""
    comment = data.comment if data else None
    return await _move(request, template_id, actor, session, "return", comment)


@router.post(
    "/{template_id}/archive",
    summary="Archive a template",
    response_model=TemplateDetail,
    responses=responses_for(*MOVE_ERRORS),
)
async def admin_repair_templates_archive(
    request: Request, template_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """Any status → archived: members stop seeing it at once; plans copied from it keep
    their copy."""
    return await _move(request, template_id, actor, session, "archive")


@router.post(
    "/{template_id}/restore",
    summary="Restore an archived template",
    response_model=TemplateDetail,
    responses=responses_for(*MOVE_ERRORS),
)
async def admin_repair_templates_restore(
    request: Request, template_id: uuid.UUID, actor: Curating, session: SessionDep
) -> Response:
    """archived → draft. One published before is seen again in its last published version."""
    return await _move(request, template_id, actor, session, "restore")
