"""The daily prompt of a couple, the partners' answers, and listening reflections."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class DailyPrompt(UUIDPrimaryKey, Base):
    """The prompt a couple gets for one local date; both partners see the same one."""

    __tablename__ = "daily_prompts"
    __table_args__ = (UniqueConstraint("couple_id", "local_date"),)

    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    prompt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prompts.id", ondelete="RESTRICT"))
    prompt_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_versions.id", ondelete="RESTRICT")
    )
    # Prompts repeat for a couple only once its pool is exhausted: each pass is a cycle.
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    swapped_at: Mapped[datetime | None] = mapped_column(default=None)
    revealed_at: Mapped[datetime | None] = mapped_column(default=None)


class Answer(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "answers"
    __encrypted__ = {"text": "user_id"}
    __table_args__ = (
        UniqueConstraint("daily_prompt_id", "user_id"),
        Index("ix_answers_user_id_created_at", "user_id", "created_at"),
    )

    daily_prompt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("daily_prompts.id", ondelete="CASCADE")
    )
    couple_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    prompt_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_versions.id", ondelete="RESTRICT")
    )
    text: Mapped[str] = mapped_column(Text)
    revealed_at: Mapped[datetime | None] = mapped_column(default=None)


class ReflectionKind(StrEnum):
    """Listening responses: never a fix or a critique."""

    reflect = "reflect"
    appreciate = "appreciate"
    ask = "ask"


class Reflection(UUIDPrimaryKey, Base):
    """A partner's listening response to something shared: an answer (or, later, a check-in)."""

    __tablename__ = "reflections"
    __encrypted__ = {"text": "author_id"}
    __table_args__ = (Index("ix_reflections_target", "target_type", "target_id", "created_at"),)

    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID]
    couple_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[ReflectionKind] = mapped_column(
        Enum(ReflectionKind, native_enum=False, length=16, validate_strings=True)
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
