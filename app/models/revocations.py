"""Revoked access: what stops access tokens before they expire.

A row is written in the same transaction as the change that causes it (an app disconnected,
a token revoked, a password changed, an account erased, a safety exit). Every API process
keeps the live rows in memory (`app.core.revocation`), so checking a token costs no query.
A row matters only while a token it stops could still be valid: `expires_at` is the revocation
time plus the longest access-token lifetime, after which the row may be swept.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK, utcnow


class Revocation(Base):
    """Access tokens that stop working.

    Which ones: the token `token_id` (its `jti`); the tokens of one refresh-token family
    `session_id` (their `sid`); or every token issued at or before `revoked_at` to `user_id`
    through `client_id` (either may be null, meaning any). There is deliberately no foreign
    key: a revocation must outlive the account or client it names.
    """

    __tablename__ = "revocations"
    # AUTOINCREMENT on SQLite: ids never come back after a sweep, so "rows after the last
    # seen id" misses nothing.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    token_id: Mapped[str | None] = mapped_column(String(64), default=None)
    session_id: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
