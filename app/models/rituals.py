"""The weekly ritual: a couple's schedule, each week's ritual, what each partner wrote in it,
and the commitments they made for the week after.

A ritual belongs to the week that starts on its scheduled local day (`week_of`, in the
couple's time zone); `progress` counts, per partner, the steps they finished, in the order
of `RitualStep`. The words (entries, commitments) are sealed under their author's data key.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @property
    def number(self) -> int:
        """Monday 0 ... Sunday 6, as `date.weekday()` counts."""
        return list(Weekday).index(self)


class RitualStep(StrEnum):
    appreciations = "appreciations"
    went_well = "went_well"
    issue = "issue"
    next_week = "next_week"


class RitualStatus(StrEnum):
    open = "open"
    completed = "completed"
    ended = "ended"


def _enum(cls: type[StrEnum], length: int = 16) -> Enum:
    return Enum(cls, native_enum=False, length=length, validate_strings=True)


class RitualSchedule(Timestamps, Base):
    """When a couple holds its weekly ritual: a weekday and a local time (couple's zone)."""

    __tablename__ = "ritual_schedules"

    couple_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), primary_key=True
    )
    weekday: Mapped[Weekday] = mapped_column(_enum(Weekday))
    local_time: Mapped[time] = mapped_column(Time())
    set_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class Ritual(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "rituals"
    __table_args__ = (UniqueConstraint("couple_id", "week_of"),)

    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    week_of: Mapped[date]
    """The scheduled local date the ritual's week starts on."""
    started_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[RitualStatus] = mapped_column(_enum(RitualStatus), default=RitualStatus.open)
    progress: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """User id (as a string) → how many steps that partner finished (0 to 4)."""
    issue_done: Mapped[bool] = mapped_column(Boolean, default=False)
    """The couple's issue step is done: a conversation linked, or skipped."""
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class RitualEntry(UUIDPrimaryKey, Base):
    """One appreciation, or one thing that went well, by one partner."""

    __tablename__ = "ritual_entries"
    __encrypted__ = {"text": "author_id"}
    __table_args__ = (Index("ix_ritual_entries_ritual_id_created_at", "ritual_id", "created_at"),)

    ritual_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    step: Mapped[RitualStep] = mapped_column(_enum(RitualStep))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RitualCommitment(UUIDPrimaryKey, Timestamps, Base):
    """What would help next week: a small thing its owner commits to, done or not yet."""

    __tablename__ = "ritual_commitments"
    __encrypted__ = {"text": "owner_id"}
    __table_args__ = (
        Index("ix_ritual_commitments_ritual_id_created_at", "ritual_id", "created_at"),
    )

    ritual_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
