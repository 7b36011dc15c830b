"""What `append_event` writes is exactly what the catalog publishes: the keys and the type of
every value, so a delivered body always validates against its published payload schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.event_catalog import EVENT_TYPES, EventType, FieldKind, PayloadField
from app.core.events import append_event
from app.delivery.dispatcher import payload
from app.schemas.event_types import PAYLOAD_MODELS

_SAMPLES: dict[FieldKind, Any] = {
    FieldKind.id: uuid.uuid4(),
    FieldKind.integer: 3,
    FieldKind.flag: True,
    FieldKind.date: "2026-12-02",
    FieldKind.word: "word",
}
# A value of the wrong type for each kind of field.
_WRONG: dict[FieldKind, Any] = {
    FieldKind.id: "not-a-uuid",
    FieldKind.integer: True,
    FieldKind.flag: 1,
    FieldKind.date: "2026-13-40",
    FieldKind.word: 7,
}


def _sample(field: PayloadField) -> Any:
    return field.choices[-1] if field.choices else _SAMPLES[field.kind]


def _data(event: EventType) -> dict[str, Any]:
    return {field.name: _sample(field) for field in event.fields}


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
async def test_a_written_event_validates_against_its_published_schema(
    name: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    event = EVENT_TYPES[name]
    async with sessionmaker() as session:
        written = await append_event(session, name, **_data(event))
        await session.rollback()
    written.occurred_at = datetime(2026, 12, 2, tzinfo=UTC)
    body = json.loads(payload(written))
    PAYLOAD_MODELS[name].model_validate(body)  # raises when the two drift apart


@pytest.mark.parametrize("name", sorted(n for n, e in EVENT_TYPES.items() if e.fields))
async def test_append_event_refuses_a_payload_that_differs_from_the_catalog(
    name: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    event = EVENT_TYPES[name]
    first = event.fields[0]
    differing = [
        {key: value for key, value in _data(event).items() if key != first.name},  # missing
        {**_data(event), "extra_id": uuid.uuid4()},  # not published
        {**_data(event), first.name: _WRONG[first.kind]},  # wrong type
    ]
    if not first.nullable:
        differing.append({**_data(event), first.name: None})
    async with sessionmaker() as session:
        for data in differing:
            with pytest.raises(ValueError, match=name):
                await append_event(session, name, **data)
        await session.rollback()


async def test_a_token_with_choices_takes_only_those(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        with pytest.raises(ValueError, match="reason"):
            await append_event(
                session, "webhook_endpoint.disabled", endpoint_id=uuid.uuid4(), reason="bored"
            )
        await append_event(
            session, "webhook_endpoint.disabled", endpoint_id=uuid.uuid4(), reason="gone"
        )
        await session.rollback()


def test_the_published_reason_of_a_disabled_endpoint_is_a_word_not_a_uuid() -> None:
    schema = PAYLOAD_MODELS["webhook_endpoint.disabled"].model_json_schema()
    reason = schema["$defs"]["WebhookEndpointDisabledEventData"]["properties"]["reason"]
    assert reason["enum"] == ["failing", "gone"]
    ended = PAYLOAD_MODELS["couple.ended"].model_json_schema()
    assert ended["$defs"]["CoupleEndedEventData"]["properties"]["ended_on"]["format"] == "date"
