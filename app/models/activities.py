"""Time together: a couple's activity ideas, each partner's private marks, and matches.

Curated ideas are the published prompts of category `play` (their id is the prompt's id);
the couple's own ideas are rows of `activity_ideas`. A mark is one partner's private `want`
or `not_now` for one idea; a match is stored once both partners want the same idea, and
carries its plan (a local date) and, once the date came, both partners' reviews.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UUIDPrimaryKey, utcnow


class Mark(StrEnum):
    want = "want"
    not_now = "not_now"


class IdeaSource(StrEnum):
    curated = "curated"
    """A published `play` prompt: the idea's id is the prompt's id."""
    own = "own"
    """One of the couple's own ideas (`ActivityIdea`)."""


def _enum(cls: type[Mark] | type[IdeaSource]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class ActivityIdea(UUIDPrimaryKey, Base):
    """An idea of the couple's own, visible to both partners."""

    __tablename__ = "activity_ideas"
    __encrypted__ = {"title": "author_id", "note": "author_id"}
    __table_args__ = (Index("ix_activity_ideas_couple_id_created_at", "couple_id", "created_at"),)

    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Free text, sealed under the author's data key (app.core.encryption_orm).
    title: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityMark(UUIDPrimaryKey, Base):
    """One partner's private mark on one idea: never shown to the partner, in no event."""

    __tablename__ = "activity_marks"
    __table_args__ = (
        UniqueConstraint("couple_id", "idea_id", "user_id"),
        Index("ix_activity_marks_user_id", "user_id"),
    )

    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # A prompt's id (curated) or an `activity_ideas` id (own): no foreign key, `source` says.
    idea_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    source: Mapped[IdeaSource] = mapped_column(_enum(IdeaSource))
    mark: Mapped[Mark] = mapped_column(_enum(Mark))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityMatch(UUIDPrimaryKey, Base):
    """An idea both partners want, and its plan."""

    __tablename__ = "activity_matches"
    __table_args__ = (
        UniqueConstraint("couple_id", "idea_id"),
        Index("ix_activity_matches_couple_id_matched_at", "couple_id", "matched_at"),
    )

    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    idea_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    source: Mapped[IdeaSource] = mapped_column(_enum(IdeaSource))
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)
    planned_for: Mapped[date | None] = mapped_column(Date, default=None)
    """A local date in the couple's timezone."""
    planned_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set once both partners said how it went."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityReview(UUIDPrimaryKey, Base):
    """How a planned activity went, as one partner says."""

    __tablename__ = "activity_reviews"
    __encrypted__ = {"note": "user_id"}
    __table_args__ = (UniqueConstraint("match_id", "user_id"),)

    match_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("activity_matches.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
