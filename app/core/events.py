"""Append events in the caller's transaction. Payloads carry ids and types, never free text."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.event_catalog import check_payload, event_type
from app.models.events import Event

# An arbitrary, fixed advisory-lock key: "rapport events" in ASCII, as a bigint.
EVENTS_LOCK_KEY = 0x7261_7070_6576_7473
_ALLOWED_VALUE_TYPES = (uuid.UUID, int, bool, type(None))


def _check_thin(data: dict[str, Any]) -> dict[str, Any]:
    """Keep payloads to ids, numbers, flags and short machine tokens (state names, kinds)."""
    thin: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, _ALLOWED_VALUE_TYPES):
            thin[name] = str(value) if isinstance(value, uuid.UUID) else value
        elif (
            isinstance(value, str)
            and len(value) <= 64
            and value.replace("_", "").replace("-", "").replace(".", "").replace(":", "").isalnum()
        ):
            thin[name] = value
        else:
            raise ValueError(f"event field {name!r} is not an id, number, flag or short token")
    return thin


async def append_event(
    session: AsyncSession,
    type: str,
    *,
    user_id: uuid.UUID | None = None,
    couple_id: uuid.UUID | None = None,
    **data: Any,
) -> Event:
    check_payload(event_type(type), data)  # what is written is what the catalog publishes
    event = Event(type=type, user_id=user_id, couple_id=couple_id, data=_check_thin(data))
    if session.get_bind().dialect.name == "postgresql":
        # Readers (the sync feed, the webhook fan-out) walk `seq` upwards and never look
        # back, so an event must not become visible after one with a higher `seq`. A sequence
        # value is taken at insert but seen at commit: holding this lock from the insert to
        # the commit makes event writers commit in `seq` order. (SQLite writers are serial.)
        await session.execute(select(func.pg_advisory_xact_lock(EVENTS_LOCK_KEY)))
    session.add(event)
    await session.flush()
    return event
