"""The prompts of a library: curation requests and views."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.models.couples import RelationshipStage
from app.models.prompts import Category, Prompt, PromptKind, PromptVersion, PromptVersionStatus
from app.schemas.common import Locale, UtcDateTime, whole_number
from app.schemas.curation import SLUG_PATTERN, Input, check_slug, unique

if TYPE_CHECKING:
    from app.services.library_prompts import PromptView

PromptKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        examples=["first-months-001"],
        description="Unique within the library; a lowercase slug.",
        json_schema_extra={"pattern": SLUG_PATTERN},
    ),
    AfterValidator(check_slug),
]
Tag = Annotated[
    str,
    Field(min_length=1, max_length=40, json_schema_extra={"pattern": SLUG_PATTERN}),
    AfterValidator(check_slug),
]
Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(unique)]
Stages = Annotated[
    list[RelationshipStage],
    Field(max_length=3, description="Relationship stages it suits; empty: every stage."),
    AfterValidator(unique),
]
PromptText = Annotated[str, Field(min_length=1, max_length=500)]
Depth = Annotated[
    int,
    Field(ge=1, le=3, description="1 (light) to 3 (deep)."),
    BeforeValidator(whole_number),
]
Guidance = Annotated[
    str,
    Field(max_length=1000, description="How the listening partner can respond well."),
]


class PromptCreate(Input):
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


class PromptUpdate(Input):
    text: PromptText | None = None
    category: Category | None = None
    depth: Depth | None = None
    kind: PromptKind | None = None
    listener_guidance: Guidance | None = None
    tags: Tags | None = None
    locale: Locale | None = None
    stages: Stages | None = None
    sensitive: bool | None = None


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
