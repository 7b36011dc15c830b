"""The member catalog of repair-plan templates: what a couple can start a plan from.

Published templates are no one's private data, so a client acting for itself may read them
too (an `Actor`, not only a `Member`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.core.etag import resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.repair import PartnerRole
from app.schemas.repair_templates import CatalogTemplateOut
from app.services import repair_catalog as catalog
from app.services.repair_templates import TemplateNotFound, phases_of

router = APIRouter(prefix="/v1", tags=["repair-plans"])
Reader = Annotated[Actor, require(Scope.repair_read)]
AUTH_ERRORS = (Unauthorized, InsufficientScope)


def _template_out(item: catalog.PublishedTemplate) -> CatalogTemplateOut:
    # The catalog schema and service belong to template curation; until the schema reads a
    # `PublishedTemplate` itself, the two records it joins are put together here.
    version = item.version
    return CatalogTemplateOut(
        id=item.template.id,
        slug=item.template.slug,
        version=version.number,
        title=version.title,
        description=version.description,
        locale=version.locale,
        roles=[PartnerRole(role) for role in version.roles],
        phases=phases_of(version.phases),
    )


@router.get(
    "/repair-templates",
    summary="List repair-plan templates",
    response_model=Page[CatalogTemplateOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def repair_templates_list(
    params: PageParams, actor: Reader, session: SessionDep
) -> Page[CatalogTemplateOut]:
    """Published templates, by slug, each in the version members see."""
    window = await catalog.list_published(session, params)
    return Page[CatalogTemplateOut].of(window, _template_out)


@router.get(
    "/repair-templates/{template}",
    summary="Get a repair-plan template",
    response_model=CatalogTemplateOut,
    responses=responses_for(*AUTH_ERRORS, TemplateNotFound),
)
async def repair_templates_get(
    request: Request, template: str, actor: Reader, session: SessionDep
) -> Response:
    """A published template by slug or id, with its phases, steps and agreements."""
    published = await catalog.get_published(session, template)
    return resource_response(request, _template_out(published))
