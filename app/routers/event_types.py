"""The event catalog: every event type a webhook or the sync feed can carry."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.event_catalog import EVENT_TYPES
from app.schemas.event_types import EventTypeList, event_type_out

router = APIRouter(prefix="/v1/event-types", tags=["events"])


@router.get("", summary="List event types", response_model=EventTypeList)
async def event_types_list() -> EventTypeList:
    """Every event type, its meaning, the scope a partner platform needs to receive it, and
    the JSON Schema of its payload. Public, like this API's OpenAPI document (which carries
    the same payloads in its `webhooks` section): no token is needed."""
    return EventTypeList(data=[event_type_out(event) for event in EVENT_TYPES.values()])
