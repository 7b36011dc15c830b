"""Personal data exports (GDPR Arts. 15 and 20): one row per archive a person asked for.

The archive itself is a file under `RAPPORT_EXPORT_DIR`, encrypted under `key`, a random
AES-256 key that lives only in this row, itself sealed under the person's data key
(`app.core.encryption_orm`): deleting the row (expiry, erasure) or the data key leaves a file
nobody can read, and neither the database nor the directory alone reveals an archive.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UUIDPrimaryKey, utcnow


class ExportState(StrEnum):
    pending = "pending"
    running = "running"
    ready = "ready"
    failed = "failed"
    expired = "expired"
    """Never stored: a ready or failed export past `expires_at` is shown as expired until
    the retention sweep deletes it."""


class Export(UUIDPrimaryKey, Base):
    __tablename__ = "exports"
    __encrypted__ = {"key": "user_id"}
    __table_args__ = (
        Index("ix_exports_user_id_created_at", "user_id", "created_at"),
        Index("ix_exports_state_created_at", "state", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[ExportState] = mapped_column(
        Enum(ExportState, native_enum=False, length=16, validate_strings=True),
        default=ExportState.pending,
    )
    # Equal to user_id while the export is pending or running, NULL once it finished: a unique
    # column that holds "at most one export in progress per person" on both engines.
    in_progress_user_id: Mapped[uuid.UUID | None] = mapped_column(unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    """While running: a worker that has not finished by then is taken for dead."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    ready_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The archive's size as downloaded (the JSON document, not the encrypted file)."""
    file_name: Mapped[str | None] = mapped_column(String(80), default=None)
    key: Mapped[bytes | None] = mapped_column(LargeBinary(), default=None)
    """The archive file's AES-256-GCM key; set when it is ready."""
