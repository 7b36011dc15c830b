"""People with an account."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey


class Role(StrEnum):
    member = "member"
    curator = "curator"
    admin = "admin"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased copy: emails are unique case-insensitively on both engines.
    email_normalized: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(35))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, validate_strings=True), default=Role.member
    )
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Erasure: deactivated at once, erased after the grace period unless the person signs in.
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)
    erase_after: Mapped[datetime | None] = mapped_column(default=None, index=True)
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    # Every browser sign-in session that started before this moment is over.
    signed_out_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the person followed the link mailed to `email` (app/services/account_emails.py).
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
