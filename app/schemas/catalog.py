"""Prompts as members see them: the published catalog, and the card of a prompt given."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from app.models.prompts import Category, PromptKind, PromptVersion
from app.schemas.libraries import OptIn

if TYPE_CHECKING:  # services import schemas; schemas only name the services' views
    from app.services.catalog import CatalogLibrary, CatalogPrompt
    from app.services.wordings import Wording


LOCALE_SHOWN = "The language of `text` and `listener_guidance`, as in `Content-Language`."
FALLBACK = (
    "Whether the words are not in your first language (the first of `Accept-Language`, or "
    "your profile's `locale` when the request sends none): the prompt has no translation "
    "into it, so it reads in your next choice or in its library's language."
)


class CatalogLibraryOut(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    description: str
    locale: str = Field(description="The language of `title` and `description`.")
    fallback: bool = Field(description=FALLBACK)
    stages: list[str]
    opt_in: OptIn
    version: int = Field(description="The published version members see.")
    prompt_count: int

    @classmethod
    def of(cls, item: CatalogLibrary) -> CatalogLibraryOut:
        library = item.library
        return cls(
            id=library.id,
            slug=library.slug,
            title=item.details.title,
            description=item.details.description,
            locale=item.details.locale,
            fallback=item.details.fallback,
            stages=item.published.stages,
            opt_in=library.opt_in,
            version=item.version,
            prompt_count=item.prompt_count,
        )


class CatalogPromptOut(BaseModel):
    prompt_id: uuid.UUID
    version_id: uuid.UUID = Field(description="The exact wording; answers point at it.")
    library: str = Field(description="The library's slug.")
    text: str
    category: Category
    depth: int
    kind: PromptKind
    listener_guidance: str | None
    tags: list[str]
    locale: str = Field(description=LOCALE_SHOWN)
    fallback: bool = Field(description=FALLBACK)
    stages: list[str]
    sensitive: bool = Field(description="Touches a painful subject; apps may warn first.")

    @classmethod
    def of(cls, item: CatalogPrompt) -> CatalogPromptOut:
        version = item.version
        return cls(
            prompt_id=version.prompt_id,
            version_id=version.id,
            library=item.library_slug,
            text=item.wording.text,
            category=version.category,
            depth=version.depth,
            kind=version.kind,
            listener_guidance=item.wording.listener_guidance,
            tags=version.tags,
            locale=item.wording.locale,
            fallback=item.wording.fallback,
            stages=version.stages,
            sensitive=version.sensitive,
        )


class PromptCard(BaseModel):
    """One prompt, at the exact version that was given (and answered), in your language."""

    prompt_id: uuid.UUID
    version_id: uuid.UUID
    text: str
    category: Category
    depth: int = Field(ge=1, le=3)
    kind: PromptKind
    listener_guidance: str | None
    tags: list[str]
    locale: str = Field(description=LOCALE_SHOWN)
    fallback: bool = Field(description=FALLBACK)

    @classmethod
    def of(cls, version: PromptVersion, wording: Wording) -> PromptCard:
        return cls(
            prompt_id=version.prompt_id,
            version_id=version.id,
            text=wording.text,
            category=version.category,
            depth=version.depth,
            kind=version.kind,
            listener_guidance=wording.listener_guidance,
            tags=version.tags,
            locale=wording.locale,
            fallback=wording.fallback,
        )
