"""The sync feed's items and pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any, Literal

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


class _SyncItemFields(BaseModel):
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
    tombstones: list[GoneResource] = Field(
        default_factory=list,
        description="Other resources this event hid from you: on `couple.ended`, the "
        "partner's shared check-ins of that couple. Drop your copies.",
    )


class SyncCoupleItem(_SyncItemFields):
    """An event about a couple: `resource` is the couple as you see it now."""

    resource_type: Literal["couple"] = Field(description="What `resource` is: a couple.")
    resource: CoupleOut


class SyncCheckInItem(_SyncItemFields):
    """An event about a check-in: `resource` is the check-in as you see it now."""

    resource_type: Literal["checkin"] = Field(description="What `resource` is: a check-in.")
    resource: CheckInOut


class SyncDayItem(_SyncItemFields):
    """A `prompt.*` or `answer.*` event: `resource` is that day of the daily prompt as you see
    it now, answers hidden until revealed."""

    resource_type: Literal["day"] = Field(description="What `resource` is: a day.")
    resource: DayOut


class SyncTombstoneItem(_SyncItemFields):
    """The event's resource was deleted or is no longer visible to you: drop your copy."""

    resource_type: Literal["tombstone"] = Field(description="What `resource` is: a tombstone.")
    resource: Tombstone


class SyncEventItem(_SyncItemFields):
    """An event whose resource you read through its own endpoint: `resource` is null."""

    resource_type: Literal["none"] = Field(description="`none`: no resource comes with it.")
    resource: None


SyncItem = Annotated[
    SyncCoupleItem | SyncCheckInItem | SyncDayItem | SyncTombstoneItem | SyncEventItem,
    Field(discriminator="resource_type"),
]
"""One event of the feed; `resource_type` says what its `resource` is."""


def sync_item(
    event: Event, resource: Resource, gone: Iterable[uuid.UUID] = ()
) -> SyncCoupleItem | SyncCheckInItem | SyncDayItem | SyncTombstoneItem | SyncEventItem:
    """The event's thin payload, with `resource` as the caller sees it now, and the check-ins
    (`gone`) it hid from the caller."""
    fields: dict[str, Any] = {
        "seq": event.seq,
        "id": event.id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "data": {
            "id": str(event.id),
            "user_id": str(event.user_id) if event.user_id else None,
            "couple_id": str(event.couple_id) if event.couple_id else None,
            **event.data,
        },
        "tombstones": [GoneResource(type="checkin", id=checkin_id) for checkin_id in gone],
    }
    if isinstance(resource, CoupleOut):
        return SyncCoupleItem(resource_type="couple", resource=resource, **fields)
    if isinstance(resource, CheckInOut):
        return SyncCheckInItem(resource_type="checkin", resource=resource, **fields)
    if isinstance(resource, DayOut):
        return SyncDayItem(resource_type="day", resource=resource, **fields)
    if isinstance(resource, Tombstone):
        return SyncTombstoneItem(resource_type="tombstone", resource=resource, **fields)
    return SyncEventItem(resource_type="none", resource=None, **fields)


class SyncPage(BaseModel):
    data: list[SyncItem]
    next_cursor: str = Field(
        description="Pass as `cursor` next time; present on the last page too, for later."
    )
    has_more: bool = Field(description="Whether more events follow right now.")
