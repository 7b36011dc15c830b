"""The prompt catalog members see: published libraries and their live prompt versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, responses_for
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.prompts import Category
from app.routers.languages import AcceptLanguage, localized
from app.schemas.catalog import CatalogLibraryOut, CatalogPromptOut
from app.schemas.common import Locale
from app.services import catalog as service
from app.services.wordings import reader_preferences

router = APIRouter(prefix="/v1", tags=["prompts"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
# The catalog is no one's private data: a client may read it for itself, so an `Actor`.
Reader = Annotated[Actor, require(Scope.prompts_read)]


@router.get(
    "/libraries",
    summary="List prompt libraries",
    response_model=Page[CatalogLibraryOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def libraries_list(
    params: PageParams,
    actor: Reader,
    session: SessionDep,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Page[CatalogLibraryOut]:
    """Published libraries, by slug, each with the version members see, its title and
    description in your language where the library has them."""
    wanted = await reader_preferences(session, actor.user_id, accept_language)
    window = await service.list_libraries(session, params, wanted)
    response.headers.update(localized(item.details.locale for item in window.items))
    return Page[CatalogLibraryOut].of(window, CatalogLibraryOut.of)


@router.get(
    "/prompts",
    summary="List prompts",
    response_model=Page[CatalogPromptOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def prompts_list(
    params: PageParams,
    actor: Reader,
    session: SessionDep,
    library: Annotated[
        str | None, Query(min_length=1, max_length=64, description="A library's slug or id.")
    ] = None,
    category: Annotated[Category | None, Query()] = None,
    depth: Annotated[int | None, Query(ge=1, le=3)] = None,
    locale: Annotated[
        Locale | None,
        Query(
            description="Only prompts that read in this language: written in it (`en` also "
            "finds `en-GB`) or translated into it."
        ),
    ] = None,
    *,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Page[CatalogPromptOut]:
    """The live version of every prompt of the published libraries, by library and key,
    each in your language where it is translated into it."""
    wanted = await reader_preferences(session, actor.user_id, accept_language)
    window = await service.list_prompts(
        session,
        params,
        library=library,
        category=category,
        depth=depth,
        locale=locale,
        wanted=wanted,
    )
    response.headers.update(localized(item.wording.locale for item in window.items))
    return Page[CatalogPromptOut].of(window, CatalogPromptOut.of)
