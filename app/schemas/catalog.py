"""Prompts as members see them: the published catalog, and the card of a prompt given."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from app.models.prompts import Category, PromptKind, PromptVersion
from app.schemas.libraries import OptIn

if TYPE_CHECKING:  # services import schemas; schemas only name the services' views
    from app.services.catalog import CatalogLibrary, CatalogPrompt


class CatalogLibraryOut(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    description: str
    locale: str
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
            title=item.published.title,
            description=item.published.description,
            locale=item.published.locale,
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
    locale: str
    stages: list[str]
    sensitive: bool = Field(description="Touches a painful subject; apps may warn first.")

    @classmethod
    def of(cls, item: CatalogPrompt) -> CatalogPromptOut:
        version = item.version
        return cls(
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


class PromptCard(BaseModel):
    """One prompt, at the exact version that was given (and answered)."""

    prompt_id: uuid.UUID
    version_id: uuid.UUID
    text: str
    category: Category
    depth: int = Field(ge=1, le=3)
    kind: PromptKind
    listener_guidance: str | None
    tags: list[str]

    @classmethod
    def of(cls, version: PromptVersion) -> PromptCard:
        return cls(
            prompt_id=version.prompt_id,
            version_id=version.id,
            text=version.text,
            category=version.category,
            depth=version.depth,
            kind=version.kind,
            listener_guidance=version.listener_guidance,
            tags=version.tags,
        )
