"""The library file: the format of the starter content, of export and of import."""

from __future__ import annotations

from pydantic import Field

from app.models.prompts import Category, PromptKind
from app.schemas.curation import Input
from app.schemas.libraries import LibraryCreate
from app.schemas.library_prompts import Depth, Guidance, PromptKey, PromptText, Stages, Tags


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


class LibraryFile(LibraryCreate):
    """A whole library as JSON: the format of `app/content/libraries/*.json`."""

    prompts: list[PromptFileItem] = Field(max_length=1000)
