"""Prompt libraries: curation requests and views, and the member catalog."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, ConfigDict, Field

from app.models.prompts import LibraryStatus
from app.schemas.common import Locale, UtcDateTime
from app.schemas.curated import CuratedOut, CuratedUpdate
from app.schemas.curation import CommentRequest, Description, Input, Slug, Title
from app.schemas.library_prompts import PromptOut, Stages
from app.schemas.translations import DetailsTranslations

if TYPE_CHECKING:
    from app.services.libraries import LibraryView

LibrarySlug = Slug
OptIn = Annotated[
    bool,
    Field(description="Feeds only the couples that enable it, e.g. after a rupture."),
]


# --- curation requests -------------------------------------------------------------------


class LibraryCreate(Input):
    slug: LibrarySlug
    title: Title
    description: Description = ""
    locale: Locale
    stages: Stages = []
    opt_in: OptIn = False


class LibraryUpdate(CuratedUpdate):
    """The slug never changes: couples name the libraries they chose by slug."""

    stages: Stages | None = None
    opt_in: OptIn | None = None
    translations: DetailsTranslations | None = Field(
        default=None, description="Replaces every translation of the title and description."
    )


class ReturnRequest(CommentRequest):
    pass


# --- curation views ----------------------------------------------------------------------


class LibraryVersionOut(BaseModel):
    """One publication: the details members see while it is the published version."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    published_at: UtcDateTime
    published_by: uuid.UUID | None
    title: str
    description: str
    locale: str
    stages: list[str]
    prompt_count: int
    translations: dict[str, dict[str, str]] = Field(
        description="Its title and description in other languages, by language."
    )


class LibraryOut(CuratedOut):
    stages: list[str]
    opt_in: OptIn
    translations: dict[str, dict[str, str]] = Field(
        description="The title and description in other languages, by language."
    )
    status: LibraryStatus
    published_version: int | None = Field(
        description="The version members see; null until first published."
    )
    created_by: uuid.UUID | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class LibraryDetail(LibraryOut):
    allowed_transitions: list[str] = Field(description="The moves its status allows now.")
    prompts: list[PromptOut] = Field(
        description="Its working prompts, removals pending publication included."
    )
    versions: list[LibraryVersionOut] = Field(description="Its publications, oldest first.")

    @classmethod
    def of(cls, view: LibraryView) -> Self:
        return cls.model_validate(
            {
                **LibraryOut.model_validate(view.library).model_dump(),
                "allowed_transitions": view.allowed_transitions,
                "prompts": [PromptOut.of(prompt, version) for prompt, version in view.prompts],
                "versions": view.versions,
            }
        )
