"""Check-ins and the reflections a partner leaves on shared ones."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from app.models.answers import ReflectionKind
from app.models.checkins import Visibility
from app.schemas.common import UtcDateTime, whole_number

MAX_TERMS = 12
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """Refuse what no engine stores as text: NUL, and UTF-16 surrogates left unpaired."""
    if _UNSTORABLE.search(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


VocabularyKey = Annotated[str, Field(min_length=1, max_length=64)]


Mood = Annotated[
    int,
    Field(ge=1, le=5, description="1 (very low) to 5 (very good)."),
    BeforeValidator(whole_number),
]
Emotions = Annotated[
    list[VocabularyKey],
    Field(
        max_length=MAX_TERMS,
        description="Keys of GET /v1/vocabularies/emotions, e.g. `scared.overwhelmed`.",
    ),
]
Needs = Annotated[
    list[VocabularyKey],
    Field(
        max_length=MAX_TERMS,
        description="Keys of GET /v1/vocabularies/needs, e.g. `connection.reassurance`.",
    ),
]
Note = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(storable)]
HelpRequest = Annotated[
    str,
    Field(min_length=1, max_length=500, description="What would help, in your own words."),
    AfterValidator(storable),
]
VISIBILITY_HELP = (
    "`private`: only you, ever. `partner`: your partner in your current couple sees it "
    "and can reflect on it, until you make it private again."
)


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mood: Mood
    emotions: Emotions = Field(default_factory=list)
    needs: Needs = Field(default_factory=list)
    note: Note | None = None
    request: HelpRequest | None = None
    visibility: Visibility = Field(default=Visibility.private, description=VISIBILITY_HELP)


class CheckInUpdate(BaseModel):
    """Fields to change; `note` and `request` are cleared with null."""

    model_config = ConfigDict(extra="forbid")

    mood: Mood | None = None
    emotions: Emotions | None = None
    needs: Needs | None = None
    note: Note | None = None
    request: HelpRequest | None = None
    visibility: Visibility | None = Field(default=None, description=VISIBILITY_HELP)


class CheckInOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID = Field(description="The author.")
    couple_id: uuid.UUID | None = Field(description="The author's couple when it was written.")
    mood: int = Field(ge=1, le=5)
    emotions: list[str]
    needs: list[str]
    note: str | None
    request: str | None
    visibility: Visibility
    local_date: date = Field(description="The author's local date when it was written.")
    created_at: UtcDateTime
    updated_at: UtcDateTime
    shared_at: UtcDateTime | None = Field(description="When it was last shared with the partner.")
    editable_until: UtcDateTime = Field(
        description="Content can be changed, and the check-in deleted, until then; "
        "visibility can change at any time."
    )


class CheckInReflectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReflectionKind = Field(
        description="`reflect`: say back what you heard; `appreciate`: thank them; "
        "`ask`: a curious question. Never a fix or a critique."
    )
    text: Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(storable)]


class CheckInReflectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    checkin_id: uuid.UUID = Field(description="The check-in this reflection answers.")
    author_id: uuid.UUID
    kind: ReflectionKind
    text: str
    created_at: UtcDateTime

    @model_validator(mode="before")
    @classmethod
    def _from_reflection(cls, value: Any) -> Any:
        """A stored reflection names its check-in `target_id`."""
        if isinstance(value, BaseModel | dict) or not hasattr(value, "target_id"):
            return value
        names = ("id", "author_id", "kind", "text", "created_at")
        return {"checkin_id": value.target_id, **{n: getattr(value, n) for n in names}}
