"""Time together: activity ideas, my marks on them, matches, plans and reviews."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.core.dates import IsoDate
from app.models.activities import IdeaSource, Mark
from app.schemas.catalog import FALLBACK
from app.schemas.checkins import storable
from app.schemas.common import UtcDateTime
from app.services.activity_matches import MatchStatus
from app.services.activity_rules import MAX_NOTE, MAX_RATING, MAX_TITLE, MIN_RATING

if TYPE_CHECKING:
    from app.models.activities import ActivityReview
    from app.services.activities import IdeaView
    from app.services.activity_matches import MatchView

Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE), AfterValidator(storable)]


def _a_number(value: object) -> object:
    # JSON Schema's integer takes 4.0 as well as 4, never "4" nor true.
    if isinstance(value, str | bool):
        raise ValueError("must be a whole number from 1 to 5")
    return value


Rating = Annotated[
    int,
    Field(ge=MIN_RATING, le=MAX_RATING, description="1 (not great) to 5 (great)."),
    BeforeValidator(_a_number),
]
Note = Annotated[str, Field(min_length=1, max_length=MAX_NOTE), AfterValidator(storable)]


class IdeaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title = Field(description="What you could do together.")
    note: Note | None = Field(default=None, description="Anything more about it.")


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mark: Mark = Field(
        description="`want` or `not_now`. Your partner never sees it: a match appears only "
        "when you both want the same idea."
    )


class IdeaOut(BaseModel):
    id: uuid.UUID = Field(description="A curated idea's id is its prompt's id.")
    source: IdeaSource
    title: str
    note: str | None
    locale: str | None = Field(
        description="The language a curated idea reads in; null for your couple's own ideas."
    )
    fallback: bool = Field(description=FALLBACK)
    author_id: uuid.UUID | None = Field(description="Who added an idea of your own.")
    created_at: UtcDateTime
    my_mark: Mark | None = Field(description="Your own mark; your partner's is never shown.")
    match_id: uuid.UUID | None = Field(description="Set when you both want it.")

    @classmethod
    def of(cls, view: IdeaView) -> Self:
        return cls(
            id=view.id,
            source=view.source,
            title=view.title,
            note=view.note,
            locale=view.locale,
            fallback=view.fallback,
            author_id=view.author_id,
            created_at=view.created_at,
            my_mark=view.my_mark,
            match_id=view.match_id,
        )


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planned_for: IsoDate | None = Field(
        description="A local date in your couple's timezone, today or later; null clears it."
    )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rating: Rating
    note: Note | None = Field(default=None, description="How it went, in your words.")


class ReviewOut(BaseModel):
    user_id: uuid.UUID
    rating: int
    note: str | None
    created_at: UtcDateTime

    @classmethod
    def of(cls, review: ActivityReview) -> Self:
        return cls(
            user_id=review.user_id,
            rating=review.rating,
            note=review.note,
            created_at=review.created_at,
        )


class MatchOut(BaseModel):
    id: uuid.UUID
    idea: IdeaOut | None = Field(description="Null when a curated idea left its library.")
    status: MatchStatus = Field(
        description="`matched` (not planned yet), `planned`, or `done` once you both said "
        "how it went."
    )
    matched_at: UtcDateTime
    planned_for: IsoDate | None = Field(description="The local date planned.")
    planned_by: uuid.UUID | None
    can_review: bool = Field(description="Whether you can say how it went now.")
    reviews: list[ReviewOut] = Field(
        description="Yours; your partner's too once you both said how it went."
    )
    completed_at: UtcDateTime | None

    @classmethod
    def of(cls, view: MatchView, me: uuid.UUID) -> Self:
        match = view.match
        mine = any(review.user_id == me for review in view.reviews)
        return cls(
            id=match.id,
            idea=IdeaOut.of(view.idea) if view.idea is not None else None,
            status=view.status,
            matched_at=match.matched_at,
            planned_for=match.planned_for,
            planned_by=match.planned_by,
            can_review=match.planned_for is not None
            and view.today >= match.planned_for
            and not mine,
            reviews=[ReviewOut.of(review) for review in view.reviews],
            completed_at=match.completed_at,
        )
