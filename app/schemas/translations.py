"""Content in other languages: a prompt's translations, a library's translated details."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from app.schemas.common import UtcDateTime
from app.schemas.curation import Description, Input, Title
from app.schemas.library_prompts import Guidance, PromptText

if TYPE_CHECKING:
    from app.models.prompts import PromptTranslation
    from app.services.translations import TranslationsView

LANGUAGE_PATTERN = "^[a-z]{2,3}$"
Language = Annotated[
    str,
    Field(
        pattern=LANGUAGE_PATTERN,
        examples=["de"],
        description="A language (ISO 639 code, lowercase): translations are per language.",
    ),
]


class TranslationIn(Input):
    text: PromptText
    listener_guidance: Guidance | None = None


class TranslationStatus(StrEnum):
    draft = "draft"
    live = "live"


class TranslationOut(BaseModel):
    locale: str
    status: TranslationStatus = Field(
        description="`live`: members read it; `draft`: it goes live at the library's next "
        "publication, replacing the live one."
    )
    stale: bool = Field(
        description="A draft of earlier words: the prompt's text or guidance changed since it "
        "was written. It stays a draft at publication (members read the prompt's own "
        "language) until it is written again, changed or as it is."
    )
    withdrawing: bool = Field(
        description="A live translation that the library's next publication takes down "
        "(`POST .../translations/{language}/withdraw`)."
    )
    text: str
    listener_guidance: str | None
    created_at: UtcDateTime
    created_by: uuid.UUID | None
    published_at: UtcDateTime | None

    @classmethod
    def of(cls, row: PromptTranslation) -> TranslationOut:
        return cls(
            locale=row.locale,
            status=TranslationStatus.live if row.is_live else TranslationStatus.draft,
            stale=row.stale,
            withdrawing=row.withdrawing,
            text=row.text,
            listener_guidance=row.listener_guidance,
            created_at=row.created_at,
            created_by=row.created_by,
            published_at=row.published_at,
        )


class PromptTranslations(BaseModel):
    """The translations of a prompt's working version, live and drafted."""

    prompt_id: uuid.UUID
    version_id: uuid.UUID = Field(description="The working version: the words translated.")
    locale: str = Field(description="The language the version is written in.")
    translations: list[TranslationOut] = Field(description="By language, live before draft.")

    @classmethod
    def of(cls, view: TranslationsView) -> PromptTranslations:
        rows = sorted(
            [*view.live.values(), *view.drafts.values()],
            key=lambda row: (row.locale, not row.is_live),
        )
        return cls(
            prompt_id=view.version.prompt_id,
            version_id=view.version.id,
            locale=view.version.locale,
            translations=[TranslationOut.of(row) for row in rows],
        )


class DetailsTranslation(Input):
    """A library's title and description in another language."""

    title: Title
    description: Description = ""


DetailsTranslations = Annotated[
    dict[Language, DetailsTranslation],
    Field(
        max_length=20,
        description="The title and description in other languages, by language; members "
        "read them with the published version.",
        json_schema_extra={"propertyNames": {"pattern": LANGUAGE_PATTERN}},
    ),
]
