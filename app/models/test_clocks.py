"""Test clocks (development and test environments only): a frozen instant a couple lives at."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UUIDPrimaryKey, utcnow


class TestClock(UUIDPrimaryKey, Base):
    __tablename__ = "test_clocks"
    __test__ = False  # not a pytest test class

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(100), default=None)
    frozen_time: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TestClockCouple(Base):
    """A couple attached to a clock: every rule reads the clock's time for it."""

    __tablename__ = "test_clock_couples"
    __test__ = False

    couple_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), primary_key=True
    )
    clock_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("test_clocks.id", ondelete="CASCADE"), index=True
    )
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)
