"""The access log: every time a third-party app read a person's private writing."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UUIDPrimaryKey, utcnow


class PrivateKind(StrEnum):
    journal_entry = "journal_entry"
    checkin = "checkin"
    """A check-in its author kept private."""


class AccessLogEntry(UUIDPrimaryKey, Base):
    """One read: which app, what kind of private writing, how many items, when. Never what
    was read: the log must not become one more copy of the text."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_user_id_occurred_at", "user_id", "occurred_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[PrivateKind] = mapped_column(
        Enum(PrivateKind, native_enum=False, length=16, validate_strings=True)
    )
    items: Mapped[int]
    operation: Mapped[str] = mapped_column(String(64))
    """The API operation that read them (its operation id)."""
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
