"""The append-only record of every change, written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, FetchedValue, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_xid_seq", "xid", "seq"),
        Index("ix_events_user_id_xid_seq", "user_id", "xid", "seq"),
        Index("ix_events_couple_id_xid_seq", "couple_id", "xid", "seq"),
    )
    __mapper_args__ = {"eager_defaults": True}

    # A monotonic sequence, taken at insert.
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The writing transaction's id on PostgreSQL (its default, `pg_current_xact_id()`); 0 on
    # SQLite, whose writers are serial. Readers walk events in `(xid, seq)` order, below the
    # oldest open transaction: see `app.core.events.settled`.
    xid: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    couple_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Ids and types only: never free text (enforced by app.core.events).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
