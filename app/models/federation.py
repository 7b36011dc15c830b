"""Sign-in through Apple and Google: which provider account belongs to which person.

`FederatedIdentity` links a provider's subject (`sub`, stable per provider) to a user. The
email is what the provider said when the link was made; it is never used to sign in again:
only (provider, subject) is. `FederationReplay` remembers the id tokens (and nonces) already
used until they expire, so that none signs anyone in twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UUIDPrimaryKey, utcnow


class FederatedIdentity(UUIDPrimaryKey, Base):
    __tablename__ = "federated_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    provider: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)


class FederationReplay(Base):
    """A used id token or nonce (a SHA-256 digest), kept until the token it came in expires."""

    __tablename__ = "federation_replays"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
