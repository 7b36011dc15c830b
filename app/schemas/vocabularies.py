"""The fixed vocabularies of emotions and needs, as served and as stored in app/content."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Valence(StrEnum):
    positive = "positive"
    negative = "negative"
    mixed = "mixed"


LOCALE = "The language of the labels and descriptions, as in `Content-Language`."
FALLBACK = (
    "Whether the labels are not in your first language (`Accept-Language`): the vocabulary "
    "has no translation into it, so it reads in your next choice or in English."
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Emotion(_Frozen):
    key: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64, examples=["scared.overwhelmed"])
    label: str = Field(min_length=1, max_length=40)
    valence: Valence


class EmotionFamily(_Frozen):
    key: str = Field(pattern=r"^[a-z_]+$", max_length=32, examples=["scared"])
    label: str = Field(min_length=1, max_length=40)
    valence: Valence
    terms: list[Emotion] = Field(min_length=1)


class EmotionVocabulary(_Frozen):
    """Emotions grouped in families; a check-in or journal entry names them by `key`."""

    version: int = Field(ge=1)
    families: list[EmotionFamily] = Field(min_length=1)
    locale: str = Field(default="en", description=LOCALE)
    fallback: bool = Field(default=False, description=FALLBACK)


class Need(_Frozen):
    key: str = Field(
        pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64, examples=["connection.reassurance"]
    )
    label: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=200)


class NeedCategory(_Frozen):
    key: str = Field(pattern=r"^[a-z_]+$", max_length=32, examples=["connection"])
    label: str = Field(min_length=1, max_length=40)
    needs: list[Need] = Field(min_length=1)


class NeedVocabulary(_Frozen):
    """Needs grouped in categories; a check-in names them by `key`."""

    version: int = Field(ge=1)
    categories: list[NeedCategory] = Field(min_length=1)
    locale: str = Field(default="en", description=LOCALE)
    fallback: bool = Field(default=False, description=FALLBACK)
