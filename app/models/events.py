"""The append-only record of every change, written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_user_id_seq", "user_id", "seq"),
        Index("ix_events_couple_id_seq", "couple_id", "seq"),
    )

    # A monotonic sequence: the order of the sync feed and of webhook deliveries.
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    couple_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Ids and types only: never free text (enforced by app.core.events).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
