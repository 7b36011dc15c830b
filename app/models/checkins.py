"""Check-ins: how a person feels now — mood, emotions, needs — kept private or shared."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, Enum, ForeignKey, Index, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey

EDIT_WINDOW = timedelta(hours=24)
"""How long after writing a check-in's content can change, and the check-in be deleted."""


class Visibility(StrEnum):
    private = "private"
    partner = "partner"


class CheckIn(UUIDPrimaryKey, Timestamps, Base):
    """One check-in. A private one is its author's alone; nothing else ever reads it."""

    __tablename__ = "checkins"
    __encrypted__ = {"note": "user_id", "request": "user_id"}
    __table_args__ = (
        CheckConstraint("mood BETWEEN 1 AND 5", name="mood_range"),
        # Plain columns with these indexes keep insights' aggregates (mood averages, counts
        # of shared check-ins per day) portable SQL on both engines.
        Index("ix_checkins_user_id_local_date", "user_id", "local_date"),
        Index("ix_checkins_user_id_created_at", "user_id", "created_at"),
        Index("ix_checkins_couple_id_created_at", "couple_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The author's couple when it was written, NULL for a person without one; sharing is
    # only ever with the partner of this couple, while it lasts.
    couple_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("couples.id", ondelete="SET NULL"), default=None
    )
    mood: Mapped[int] = mapped_column(SmallInteger)
    emotions: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    request: Mapped[str | None] = mapped_column(Text, default=None)
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, native_enum=False, length=16, validate_strings=True),
        default=Visibility.private,
    )
    # The author's local date (their time zone at the time of writing).
    local_date: Mapped[date] = mapped_column(Date)
    shared_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def editable_until(self) -> datetime:
        return self.created_at + EDIT_WINDOW
