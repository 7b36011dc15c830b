"""The sync feed's items and pages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.checkins import CheckInOut
from app.schemas.couples import CoupleOut
from app.schemas.daily import DayOut


class Tombstone(BaseModel):
    """The resource is gone, or no longer visible to you: drop your copy."""

    deleted: Literal[True] = True


class SyncItem(BaseModel):
    seq: int = Field(description="The event's position in the feed; increases strictly.")
    id: uuid.UUID = Field(description="The event's id (the same as in webhook payloads).")
    type: str = Field(
        description="An event type of `GET /v1/event-types`.", examples=["couple.joined"]
    )
    occurred_at: datetime
    data: dict[str, Any] = Field(
        description="The thin payload's data: `id`, `user_id`, `couple_id` and the type's fields."
    )
    resource: CoupleOut | CheckInOut | DayOut | Tombstone | None = Field(
        description="The changed resource as you see it now (a couple, a check-in, or the "
        "day of a daily prompt: `prompt.*` and `answer.*`, answers hidden until revealed), a "
        "tombstone when it was deleted or is no longer visible to you, or null for types "
        "whose resource you read through its own endpoint."
    )


class SyncPage(BaseModel):
    data: list[SyncItem]
    next_cursor: str = Field(
        description="Pass as `cursor` next time; present on the last page too, for later."
    )
    has_more: bool = Field(description="Whether more events follow right now.")
