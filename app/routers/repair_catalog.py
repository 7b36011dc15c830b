"""The member catalog of repair-plan templates: what a couple can start a plan from.

Published templates are no one's private data, so a client acting for itself may read them
too (an `Actor`, not only a `Member`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.core.etag import resource_response
from app.core.languages import Preferences
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.repair import PartnerRole
from app.routers.languages import AcceptLanguage, localized
from app.schemas.repair_templates import CatalogTemplateOut
from app.services import repair_catalog as catalog
from app.services.repair_templates import TemplateNotFound
from app.services.template_translations import words_for
from app.services.wordings import reader_preferences

router = APIRouter(prefix="/v1", tags=["repair-plans"])
Reader = Annotated[Actor, require(Scope.repair_read)]
AUTH_ERRORS = (Unauthorized, InsufficientScope)


def _template_out(item: catalog.PublishedTemplate, wanted: Preferences) -> CatalogTemplateOut:
    # The catalog schema and service belong to template curation; until the schema reads a
    # `PublishedTemplate` itself, the two records it joins are put together here.
    version = item.version
    words = words_for(version, version.phases, wanted)
    return CatalogTemplateOut(
        id=item.template.id,
        slug=item.template.slug,
        version=version.number,
        title=words.title,
        description=words.description,
        locale=words.locale,
        fallback=words.fallback,
        roles=[PartnerRole(role) for role in version.roles],
        phases=words.phases,
    )


@router.get(
    "/repair-templates",
    summary="List repair-plan templates",
    response_model=Page[CatalogTemplateOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def repair_templates_list(
    params: PageParams,
    actor: Reader,
    session: SessionDep,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Page[CatalogTemplateOut]:
    """Published templates, by slug, each in the version members see, in your language
    where it is translated."""
    wanted = await reader_preferences(session, actor.user_id, accept_language)
    window = await catalog.list_published(session, params)
    page = Page[CatalogTemplateOut].of(window, lambda item: _template_out(item, wanted))
    response.headers.update(localized(item.locale for item in page.data))
    return page


@router.get(
    "/repair-templates/{template}",
    summary="Get a repair-plan template",
    response_model=CatalogTemplateOut,
    responses=responses_for(*AUTH_ERRORS, TemplateNotFound),
)
async def repair_templates_get(
    request: Request,
    template: str,
    actor: Reader,
    session: SessionDep,
    accept_language: AcceptLanguage = None,
) -> Response:
    """A published template by slug or id, with its phases, steps and agreements, in your
    language where it is translated."""
    wanted = await reader_preferences(session, actor.user_id, accept_language)
    shown = _template_out(await catalog.get_published(session, template), wanted)
    return resource_response(request, shown, headers=localized([shown.locale]))
