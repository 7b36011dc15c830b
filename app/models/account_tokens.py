"""Single-use tokens mailed to a person: reset a password, verify an email address.

A row is also the mail's outbox entry: written in the transaction that asked for it, sent
by the `send_account_emails` job (app/jobs/emails.py) after that transaction committed.
Only a hash of the token is stored; the token itself is an HMAC of the row's random id
under the app's secret key, so the job can rebuild the link for a retry and the database
alone never holds it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UUIDPrimaryKey, utcnow


class TokenPurpose(StrEnum):
    reset_password = "reset_password"  # noqa: S105 - a purpose, not a secret
    verify_email = "verify_email"


class AccountToken(UUIDPrimaryKey, Base):
    __tablename__ = "account_tokens"
    __table_args__ = (
        # The outbox: tokens whose mail is still to be sent.
        Index("ix_account_tokens_unsent", "sent_at", "ended_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, native_enum=False, length=16, validate_strings=True)
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email_normalized: Mapped[str] = mapped_column(String(320))
    """The address the mail goes to; a verification proves this address and no other."""
    locale: Mapped[str] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    """Used, or superseded by a newer request: either way never accepted again."""
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    send_attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    """A sender works on the mail until then; past it, another sender may retry."""
