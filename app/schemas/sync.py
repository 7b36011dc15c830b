"""The sync feed's items and pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from app.models.events import Event
from app.schemas.checkins import CheckInOut
from app.schemas.common import UtcDateTime
from app.schemas.couples import CoupleOut
from app.schemas.daily import DayOut


class Tombstone(BaseModel):
    """The resource is gone, or no longer visible to you: drop your copy."""

    deleted: Literal[True] = True


Resource = CoupleOut | CheckInOut | DayOut | Tombstone | None


class GoneResource(BaseModel):
    """A resource you could see until this event, and no longer can."""

    type: Literal["checkin"] = Field(description="The kind of resource: `checkin`.")
    id: uuid.UUID


class SyncItem(BaseModel):
    seq: int = Field(
        description=(
            "The event's number: unique, never reused. Items come in feed order, which is not "
            "always increasing `seq` (events written at the same moment by different "
            "transactions take their place once all of them committed); resume with "
            "`next_cursor`, never from a `seq`."
        )
    )
    id: uuid.UUID = Field(description="The event's id (the same as in webhook payloads).")
    type: str = Field(
        description="An event type of `GET /v1/event-types`.", examples=["couple.joined"]
    )
    occurred_at: UtcDateTime
    data: dict[str, Any] = Field(
        description="The thin payload's data: `id`, `user_id`, `couple_id` and the type's fields."
    )
    resource: Resource = Field(
        description="The changed resource as you see it now (a couple, a check-in, or the "
        "day of a daily prompt: `prompt.*` and `answer.*`, answers hidden until revealed), a "
        "tombstone when it was deleted or is no longer visible to you, or null for types "
        "whose resource you read through its own endpoint."
    )
    tombstones: list[GoneResource] = Field(
        default_factory=list,
        description="Other resources this event hid from you: on `couple.ended`, the "
        "partner's shared check-ins of that couple. Drop your copies.",
    )

    @classmethod
    def from_event(cls, event: Event, resource: Resource, gone: Iterable[uuid.UUID] = ()) -> Self:
        """The event's thin payload, with `resource` as the caller sees it now, and the
        check-ins (`gone`) it hid from the caller."""
        return cls(
            seq=event.seq,
            id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            data={
                "id": str(event.id),
                "user_id": str(event.user_id) if event.user_id else None,
                "couple_id": str(event.couple_id) if event.couple_id else None,
                **event.data,
            },
            resource=resource,
            tombstones=[GoneResource(type="checkin", id=checkin_id) for checkin_id in gone],
        )


class SyncPage(BaseModel):
    data: list[SyncItem]
    next_cursor: str = Field(
        description="Pass as `cursor` next time; present on the last page too, for later."
    )
    has_more: bool = Field(description="Whether more events follow right now.")
