"""The private journal: writing that only its author ever reads."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey


class JournalEntry(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "journal_entries"
    __encrypted__ = {"body": "user_id"}
    __table_args__ = (Index("ix_journal_entries_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    # As the author wrote them, in order; `JournalLabel` indexes the same values for counting.
    pattern_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    emotions: Mapped[list[str]] = mapped_column(JSON, default=list)
    local_date: Mapped[date] = mapped_column(Date)


class LabelKind(StrEnum):
    tag = "tag"
    emotion = "emotion"


class JournalLabel(Base):
    """One tag or emotion of one entry, a row each: counting them is a plain GROUP BY on both
    engines, where unnesting JSON arrays would need each engine's own functions."""

    __tablename__ = "journal_labels"
    __table_args__ = (
        Index("ix_journal_labels_user_kind_date", "user_id", "kind", "local_date"),
        Index("ix_journal_labels_user_kind_value", "user_id", "kind", "value"),
    )

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[LabelKind] = mapped_column(
        Enum(LabelKind, native_enum=False, length=16, validate_strings=True), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The entry's local date, copied so that windows need no join.
    local_date: Mapped[date] = mapped_column(Date)
