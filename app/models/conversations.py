"""Speaker-listener conversations: a couple's session, and every move made in it.

The conversation row holds what `app.services.conversation_rules.State` is rebuilt from
(phase, speaker, listener, paused, ended, who appreciated); each move is a turn, numbered
from 1 within its conversation.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class Phase(StrEnum):
    awaiting_share = "awaiting_share"
    awaiting_paraphrase = "awaiting_paraphrase"
    awaiting_confirmation = "awaiting_confirmation"
    confirmed = "confirmed"


class Move(StrEnum):
    share = "share"
    paraphrase = "paraphrase"
    confirm = "confirm"
    correct = "correct"
    pass_floor = "pass_floor"  # noqa: S105 - a move, not a password
    pause = "pause"
    resume = "resume"
    end = "end"
    appreciate = "appreciate"


def _enum(cls: type[Phase] | type[Move]) -> Enum:
    return Enum(cls, native_enum=False, length=32, validate_strings=True)


class Conversation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "conversations"
    __encrypted__ = {"topic": "started_by"}
    __table_args__ = (Index("ix_conversations_couple_id_created_at", "couple_id", "created_at"),)

    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    started_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Free text, sealed under the starter's data key (app.core.encryption_orm).
    topic: Mapped[str | None] = mapped_column(Text, default=None)
    prompt_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prompts.id", ondelete="SET NULL"), default=None
    )
    phase: Mapped[Phase] = mapped_column(_enum(Phase), default=Phase.awaiting_share)
    speaker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    listener_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # The partners who appreciated the other once it ended: user ids as strings.
    appreciated_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    """The number of the latest turn (0 before the first)."""


class ConversationTurn(UUIDPrimaryKey, Base):
    __tablename__ = "conversation_turns"
    __encrypted__ = {"text": "author_id"}
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    move: Mapped[Move] = mapped_column(_enum(Move))
    # Set on the moves that carry words (share, paraphrase, correct, appreciate), sealed.
    text: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
