"""Couples: two people joined through a single-use invite; a couple can end without data loss."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class CoupleStatus(StrEnum):
    active = "active"
    ended = "ended"


class RelationshipStage(StrEnum):
    new = "new"
    long_distance = "long_distance"
    long_term = "long_term"


class Couple(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "couples"

    status: Mapped[CoupleStatus] = mapped_column(
        Enum(CoupleStatus, native_enum=False, length=16, validate_strings=True),
        default=CoupleStatus.active,
    )
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The couple's time zone decides when "today" starts for the daily prompt.
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(35))
    relationship_stage: Mapped[RelationshipStage | None] = mapped_column(
        Enum(RelationshipStage, native_enum=False, length=16, validate_strings=True),
        default=None,
    )
    enabled_libraries: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_depth: Mapped[int] = mapped_column(Integer, default=3)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class CoupleMember(UUIDPrimaryKey, Base):
    __tablename__ = "couple_members"

    couple_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Equal to user_id while the couple is active, NULL after it ends: a unique column that
    # holds "a person is in at most one active couple" on both engines (NULLs never clash).
    active_user_id: Mapped[uuid.UUID | None] = mapped_column(unique=True, default=None)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invite(UUIDPrimaryKey, Base):
    __tablename__ = "couple_invites"

    couple_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    used_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class CoupleBlock(UUIDPrimaryKey, Base):
    """After a safety exit: `blocked_id` can never pair with `blocker_id` again, either way."""

    __tablename__ = "couple_blocks"
    __table_args__ = (UniqueConstraint("blocker_id", "blocked_id"),)

    blocker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    blocked_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
