"""Journal entries, the author's tags, and the patterns they show over time."""

from __future__ import annotations

import re
import uuid
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.schemas.checkins import Emotions, storable
from app.schemas.common import UtcDateTime

if TYPE_CHECKING:
    from app.services.journal import LabelCount, Patterns
    from app.services.journal import Trend as Counted

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
_TAG = re.compile(r"^\w[\w' -]*$")


def normalise_tag(value: str) -> str:
    """Lower case, single spaces: `People  Pleasing` and `people pleasing` are one tag."""
    tag = " ".join(value.split()).lower()
    if not tag or len(tag) > MAX_TAG_LENGTH:
        raise ValueError(f"must be 1 to {MAX_TAG_LENGTH} characters")
    if not _TAG.match(tag):
        raise ValueError("may hold letters, digits, spaces, hyphens, underscores and apostrophes")
    return tag


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


PatternTag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TAG_LENGTH,
        examples=["withdrawing"],
        description="Letters, digits, spaces, hyphens, underscores and apostrophes, starting "
        "with a letter or digit; stored in lower case with single spaces.",
        json_schema_extra={"pattern": r"^\s*\w[\w'\s-]*$"},
    ),
    AfterValidator(normalise_tag),
]
PatternTags = Annotated[
    list[PatternTag],
    Field(
        max_length=MAX_TAGS,
        description=f"Your own words for patterns you notice, up to {MAX_TAGS}; stored in "
        "lower case, each once.",
    ),
    AfterValidator(_distinct),
]
Body = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(storable)]


class JournalEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body
    pattern_tags: PatternTags = Field(default_factory=list)
    emotions: Emotions = Field(default_factory=list)


class JournalEntryUpdate(BaseModel):
    """Fields to change; each replaces the stored value whole."""

    model_config = ConfigDict(extra="forbid")

    body: Body | None = None
    pattern_tags: PatternTags | None = None
    emotions: Emotions | None = None


class JournalEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    body: str
    pattern_tags: list[str]
    emotions: list[str]
    local_date: date = Field(description="Your local date when you wrote it.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class TagCount(BaseModel):
    tag: str
    count: int = Field(description="How many of your entries carry it.")
    last_used: date = Field(description="The local date of the latest entry carrying it.")

    @classmethod
    def from_count(cls, counted: LabelCount) -> Self:
        return cls(tag=counted.value, count=counted.count, last_used=counted.last_used)


class Trend(StrEnum):
    up = "up"
    down = "down"
    steady = "steady"


class TagTrend(BaseModel):
    tag: str
    count: int = Field(description="Entries carrying it in the window.")
    previous_count: int = Field(description="Entries carrying it in the window before.")
    trend: Trend

    @classmethod
    def from_counted(cls, item: Counted) -> Self:
        return cls(
            tag=item.value, count=item.count, previous_count=item.previous_count, trend=item.trend
        )


class EmotionTrend(BaseModel):
    emotion: str
    count: int = Field(description="Entries naming it in the window.")
    previous_count: int = Field(description="Entries naming it in the window before.")
    trend: Trend

    @classmethod
    def from_counted(cls, item: Counted) -> Self:
        return cls(
            emotion=item.value,
            count=item.count,
            previous_count=item.previous_count,
            trend=item.trend,
        )


class PatternsOut(BaseModel):
    """Your most frequent tags and emotions in a window of days ending today, each against
    the window of the same length just before it."""

    window_days: int
    start: date = Field(description="The first local date of the window.")
    end: date = Field(description="The last local date of the window: today.")
    previous_start: date
    previous_end: date
    entries: int = Field(description="Entries written in the window.")
    previous_entries: int = Field(description="Entries written in the window before.")
    tags: list[TagTrend]
    emotions: list[EmotionTrend]

    @classmethod
    def from_patterns(cls, found: Patterns) -> Self:
        return cls(
            window_days=found.window_days,
            start=found.start,
            end=found.end,
            previous_start=found.previous_start,
            previous_end=found.previous_end,
            entries=found.entries,
            previous_entries=found.previous_entries,
            tags=[TagTrend.from_counted(item) for item in found.tags],
            emotions=[EmotionTrend.from_counted(item) for item in found.emotions],
        )
