"""Devices that receive push notifications, each person's notification settings, and the
push deliveries: one row per (device, notification key), so nothing is ever sent twice.

A device token belongs to one person at a time (`(provider, token)` is unique): registering a
token someone else held moves it to the new person. `session_id` is the refresh-token family
(the access token's `sid`) the device was registered under: revoking that family, or every
token of the person, deletes the device (`forget_devices`, called by `record_revocation`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    delete,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class Platform(StrEnum):
    ios = "ios"
    android = "android"


class Provider(StrEnum):
    apns = "apns"
    fcm = "fcm"


class NotificationKind(StrEnum):
    daily_prompt = "daily_prompt"
    partner_answered = "partner_answered"
    answers_revealed = "answers_revealed"
    checkin_shared = "checkin_shared"
    repair_step_due = "repair_step_due"
    conversation_turn = "conversation_turn"
    """The partner's move in a conversation made it this person's turn."""
    weekly_ritual = "weekly_ritual"
    """The couple's weekly ritual is due (its scheduled weekday and local time)."""


class DeliveryState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    pruned = "pruned"
    """The provider said the token is gone; the device was deleted with it."""


def _enum(kind: type[StrEnum], length: int) -> Enum:
    return Enum(kind, native_enum=False, length=length, validate_strings=True)


class Device(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("provider", "token"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    platform: Mapped[Platform] = mapped_column(_enum(Platform, 16))
    provider: Mapped[Provider] = mapped_column(_enum(Provider, 16))
    token: Mapped[str] = mapped_column(String(512))
    app_version: Mapped[str | None] = mapped_column(String(32), default=None)
    locale: Mapped[str | None] = mapped_column(String(35), default=None)


class NotificationSettings(Base):
    """A person's choices; a person without a row has the defaults."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    """Per kind on/off; a kind missing here is on."""
    daily_prompt_time: Mapped[time] = mapped_column(Time(), default=time(19, 0))
    quiet_hours_start: Mapped[time | None] = mapped_column(Time(), default=time(22, 0))
    quiet_hours_end: Mapped[time | None] = mapped_column(Time(), default=time(8, 0))
    weekly_nudge_cap: Mapped[int] = mapped_column(Integer, default=7)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PushDelivery(UUIDPrimaryKey, Base):
    __tablename__ = "push_deliveries"
    __table_args__ = (
        UniqueConstraint("device_id", "key"),
        Index("ix_push_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_push_deliveries_user_id_kind_created_at", "user_id", "kind", "created_at"),
    )

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    """What the notification is about, once per person: `daily_prompt:2026-12-02`,
    `event:<event id>`, ..."""
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind, 32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Ids only: what the app opens when the notification is tapped."""
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, 16), default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(64), default=None)


class PushDispatchState(Base):
    """The single row holding the push fan-out's mark: the `(xid, seq)` of the last event."""

    __tablename__ = "push_dispatch_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_xid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


def forget_devices(
    session: Session,
    *,
    user_id: uuid.UUID | None,
    client_id: str | None,
    token_id: str | None,
    session_id: str | None,
) -> None:
    """Delete the devices a revocation signs out (synchronous, like `record_revocation`).

    A refresh-token family (`session_id`): the devices registered under it. Every token of a
    person (password change, erasure, safety exit): all their devices; of a person through
    one app (disconnecting it): those registered through that app; of an app: all of its
    devices. One access token (`token_id`) leaves devices alone: its session lives on.
    """
    statement = delete(Device)
    if session_id is not None:
        statement = statement.where(Device.session_id == session_id)
    elif token_id is not None:
        return
    else:
        if user_id is not None:
            statement = statement.where(Device.user_id == user_id)
        if client_id is not None:
            statement = statement.where(Device.client_id == client_id)
    session.execute(statement.execution_options(synchronize_session=False))
