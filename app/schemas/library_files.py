"""The library file: the format of the starter content, of export and of import."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.models.prompts import Category, PromptKind
from app.schemas.curation import Input
from app.schemas.libraries import LibraryCreate
from app.schemas.library_prompts import Depth, Guidance, PromptKey, PromptText, Stages, Tags
from app.schemas.translations import (
    LANGUAGE_PATTERN,
    DetailsTranslations,
    Language,
    TranslationIn,
)

PromptFileTranslations = Annotated[
    dict[Language, TranslationIn],
    Field(
        max_length=20,
        description="The prompt's text and listener guidance in other languages, by language "
        "(not the library's own). Import makes them draft translations, live with the "
        "library's next publication; export gives the ones that publication would make live.",
        json_schema_extra={"propertyNames": {"pattern": LANGUAGE_PATTERN}},
    ),
]


class PromptFileItem(Input):
    key: PromptKey
    text: PromptText
    category: Category
    depth: Depth
    kind: PromptKind = PromptKind.question
    listener_guidance: Guidance | None = None
    tags: Tags = []
    stages: Stages = []
    sensitive: bool = False
    translations: PromptFileTranslations = {}


class LibraryFile(LibraryCreate):
    """A whole library as JSON: the format of `app/content/libraries/*.json`."""

    translations: DetailsTranslations = {}
    prompts: list[PromptFileItem] = Field(max_length=1000)
