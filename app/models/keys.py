"""Data keys: one per person, stored only wrapped by a key-encryption key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class DataKey(Base):
    """A person's data key (app.core.crypto); deleting the row crypto-shreds their text."""

    __tablename__ = "data_keys"

    # No foreign key: a key is made inside the flush that first needs it, whatever the order
    # of that flush's inserts, and erasure deletes it explicitly (users rows are never deleted).
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(default=None)
