"""The prompt catalog members see: published libraries and their live prompt versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, responses_for
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.prompts import Category
from app.schemas.common import Locale
from app.schemas.libraries import CatalogLibraryOut, CatalogPromptOut
from app.services import catalog as service

router = APIRouter(prefix="/v1", tags=["prompts"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
Reader = Annotated[Actor, require(Scope.prompts_read)]


def library_out(item: service.CatalogLibrary) -> CatalogLibraryOut:
    library = item.library
    return CatalogLibraryOut(
        id=library.id,
        slug=library.slug,
        title=item.published.title,
        description=item.published.description,
        locale=item.published.locale,
        stages=item.published.stages,
        opt_in=library.opt_in,
        version=item.version,
        prompt_count=item.prompt_count,
    )


def prompt_out(item: service.CatalogPrompt) -> CatalogPromptOut:
    version = item.version
    return CatalogPromptOut(
        prompt_id=version.prompt_id,
        version_id=version.id,
        library=item.library_slug,
        text=version.text,
        category=version.category,
        depth=version.depth,
        kind=version.kind,
        listener_guidance=version.listener_guidance,
        tags=version.tags,
        locale=version.locale,
        stages=version.stages,
        sensitive=version.sensitive,
    )


@router.get(
    "/libraries",
    summary="List prompt libraries",
    response_model=Page[CatalogLibraryOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def libraries_list(
    params: PageParams, actor: Reader, session: SessionDep
) -> Page[CatalogLibraryOut]:
    """Published libraries, by slug, each with the version members see."""
    window = await service.list_libraries(session, params)
    return Page[CatalogLibraryOut].of(window, library_out)


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
        Locale | None, Query(description="A language tag; `en` also finds `en-GB`.")
    ] = None,
) -> Page[CatalogPromptOut]:
    """The live version of every prompt of the published libraries, by library and key."""
    window = await service.list_prompts(
        session, params, library=library, category=category, depth=depth, locale=locale
    )
    return Page[CatalogPromptOut].of(window, prompt_out)
