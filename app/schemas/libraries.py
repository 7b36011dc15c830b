"""Prompt libraries: curation requests and views, the library file format, the member catalog."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.models.couples import RelationshipStage
from app.models.prompts import Category, LibraryStatus, PromptKind, PromptVersionStatus
from app.schemas.common import Locale

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
    created_at: datetime
    created_by: uuid.UUID | None
    published_at: datetime | None


class PromptOut(BaseModel):
    id: uuid.UUID
    library_id: uuid.UUID
    key: str
    created_at: datetime
    removed_at: datetime | None = Field(
        description="Set when removed; the prompt leaves the library at the next publication."
    )
    working: PromptVersionOut = Field(description="The newest version: the one curators edit.")


class PromptDetail(PromptOut):
    versions: list[PromptVersionOut] = Field(description="Every version, oldest first.")


class LibraryVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    published_at: datetime
    published_by: uuid.UUID | None
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
    created_at: datetime
    updated_at: datetime


class LibraryDetail(LibraryOut):
    allowed_transitions: list[str] = Field(description="The moves its status allows now.")
    prompts: list[PromptOut] = Field(
        description="Its working prompts, removals pending publication included."
    )
    versions: list[LibraryVersionOut] = Field(description="Its publications, oldest first.")


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    actor_user_id: uuid.UUID | None = Field(description="Null for changes made by the system.")
    actor_client_id: str | None
    action: str = Field(examples=["library.published"])
    entity_type: str = Field(examples=["library"])
    entity_id: uuid.UUID
    before: dict[str, Any] | None
    after: dict[str, Any] | None
