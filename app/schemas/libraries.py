"""Prompt libraries: curation requests and views, the library file format, the member catalog."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.models.couples import RelationshipStage
from app.models.prompts import (
    Category,
    LibraryStatus,
    Prompt,
    PromptKind,
    PromptVersion,
    PromptVersionStatus,
)
from app.schemas.common import Locale, UtcDateTime

if TYPE_CHECKING:
    from app.services.libraries import LibraryView
    from app.services.library_prompts import PromptView

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SLUG_RE = re.compile(_SLUG)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _check_slug(value: str) -> str:
    if not _SLUG_RE.match(value):
        raise ValueError("must be a lowercase slug: letters a-z, digits and single dashes")
    return value


LibrarySlug = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["first-months"]),
    AfterValidator(_check_slug),
]
PromptKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        examples=["first-months-001"],
        description="Unique within the library; a lowercase slug.",
    ),
    AfterValidator(_check_slug),
]
Tag = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_check_slug)]
Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)]
Stages = Annotated[
    list[RelationshipStage],
    Field(max_length=3, description="Relationship stages it suits; empty: every stage."),
    AfterValidator(_unique),
]
Title = Annotated[str, Field(min_length=1, max_length=120)]
Description = Annotated[str, Field(max_length=2000)]
PromptText = Annotated[str, Field(min_length=1, max_length=500)]
Depth = Annotated[int, Field(ge=1, le=3, description="1 (light) to 3 (deep).")]
OptIn = Annotated[
    bool,
    Field(description="Feeds only the couples that enable it, e.g. after a rupture."),
]
Guidance = Annotated[
    str,
    Field(max_length=1000, description="How the listening partner can respond well."),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- the library file: starter content, export and import share it ----------------------


class PromptFileItem(_Input):
    key: PromptKey
    text: PromptText
    category: Category
    depth: Depth
    kind: PromptKind = PromptKind.question
    listener_guidance: Guidance | None = None
    tags: Tags = []
    stages: Stages = []
    sensitive: bool = False


class LibraryFile(_Input):
    """A whole library as JSON: the format of `app/content/libraries/*.json`."""

    slug: LibrarySlug
    title: Title
    description: Description = ""
    locale: Locale
    stages: Stages = []
    opt_in: OptIn = False
    prompts: list[PromptFileItem] = Field(max_length=1000)


# --- curation requests -------------------------------------------------------------------


class LibraryCreate(_Input):
    slug: LibrarySlug
    title: Title
    description: Description = ""
    locale: Locale
    stages: Stages = []
    opt_in: OptIn = False


class LibraryUpdate(_Input):
    """The slug never changes: couples name the libraries they chose by slug."""

    title: Title | None = None
    description: Description | None = None
    locale: Locale | None = None
    stages: Stages | None = None
    opt_in: OptIn | None = None


class ReturnRequest(_Input):
    comment: str | None = Field(
        default=None, max_length=2000, description="Why it goes back, for the curator."
    )


class PromptCreate(_Input):
    key: PromptKey | None = Field(default=None, description="Generated from the text when omitted.")
    text: PromptText
    category: Category
    depth: Depth
    kind: PromptKind = PromptKind.question
    listener_guidance: Guidance | None = None
    tags: Tags = []
    locale: Locale | None = Field(default=None, description="The library's locale when omitted.")
    stages: Stages = []
    sensitive: bool = False


class PromptUpdate(_Input):
    text: PromptText | None = None
    category: Category | None = None
    depth: Depth | None = None
    kind: PromptKind | None = None
    listener_guidance: Guidance | None = None
    tags: Tags | None = None
    locale: Locale | None = None
    stages: Stages | None = None
    sensitive: bool | None = None


# --- curation views ----------------------------------------------------------------------


class PromptVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    status: PromptVersionStatus
    is_live: bool = Field(description="Whether members see this version now.")
    library_version: int | None = Field(description="The library version that published it.")
    text: str
    category: Category
    depth: int
    kind: PromptKind
    listener_guidance: str | None
    tags: list[str]
    locale: str
    stages: list[str]
    sensitive: bool
    created_at: UtcDateTime
    created_by: uuid.UUID | None
    published_at: UtcDateTime | None


class PromptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    library_id: uuid.UUID
    key: str
    created_at: UtcDateTime
    removed_at: UtcDateTime | None = Field(
        description="Set when removed; the prompt leaves the library at the next publication."
    )
    working: PromptVersionOut = Field(description="The newest version: the one curators edit.")

    @classmethod
    def of(cls, prompt: Prompt, working: PromptVersion) -> Self:
        fields = {name: getattr(prompt, name) for name in ("id", "library_id", "key")}
        return cls.model_validate(
            {
                **fields,
                "created_at": prompt.created_at,
                "removed_at": prompt.removed_at,
                "working": working,
            }
        )


class PromptDetail(PromptOut):
    versions: list[PromptVersionOut] = Field(description="Every version, oldest first.")

    @classmethod
    def of_view(cls, view: PromptView) -> Self:
        return cls.model_validate(
            {**PromptOut.of(view.prompt, view.working).model_dump(), "versions": view.versions}
        )


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


class LibraryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str
    description: str
    locale: str
    stages: list[str]
    opt_in: OptIn
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


# --- the member catalog ------------------------------------------------------------------


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
