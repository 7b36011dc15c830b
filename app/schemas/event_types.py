"""Event payloads, generated from the catalog, and the catalog as published.

One pydantic model per event type, built from `app.core.event_catalog`: the same models give
`GET /v1/event-types` its payload schemas and the OpenAPI document its `webhooks` section,
so neither can drift from what `append_event` writes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from app.core.event_catalog import EVENT_TYPES, EventType, FieldKind, PayloadField
from app.core.security import Scope

_ANNOTATIONS: dict[FieldKind, Any] = {
    FieldKind.id: uuid.UUID,
    FieldKind.integer: int,
    FieldKind.flag: bool,
    FieldKind.date: date,
    FieldKind.word: str,
}


def _field(field: PayloadField) -> tuple[Any, Any]:
    annotation = Literal[field.choices] if field.choices else _ANNOTATIONS[field.kind]
    if field.nullable:
        annotation = annotation | None
    return annotation, Field(description=field.description)


def _model_name(event: EventType) -> str:
    words = event.name.replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words) + "Event"


def _payload_model(event: EventType) -> type[BaseModel]:
    name = _model_name(event)
    data = create_model(
        name + "Data",
        __doc__=f"The data of `{event.name}`: ids, numbers, flags and short tokens only.",
        id=(uuid.UUID, Field(description="The event's id: deliveries and retries share it.")),
        user_id=(uuid.UUID | None, Field(description="The person the event is about.")),
        couple_id=(uuid.UUID | None, Field(description="The couple the event happened in.")),
        **{field.name: _field(field) for field in event.fields},  # type: ignore[call-overload]
    )
    model: type[BaseModel] = create_model(
        name,
        __doc__=event.description,
        type=(Literal[event.name], Field(description="The event type.")),  # type: ignore[arg-type]
        timestamp=(datetime, Field(description="When the change happened (UTC).")),
        data=(data, ...),
    )
    return model


PAYLOAD_MODELS: dict[str, type[BaseModel]] = {
    name: _payload_model(event) for name, event in EVENT_TYPES.items()
}


class EventTypeOut(BaseModel):
    """One event type: what it means, the scope needed to receive it, and its payload."""

    name: str = Field(examples=["checkin.shared"])
    description: str
    scope: Scope = Field(description="A partner platform receives this type only with it.")
    payload_schema: dict[str, Any] = Field(
        description="The JSON Schema of the payload: `{type, timestamp, data}`."
    )


class EventTypeList(BaseModel):
    data: list[EventTypeOut]


def event_type_out(event: EventType) -> EventTypeOut:
    return EventTypeOut(
        name=event.name,
        description=event.description,
        scope=event.scope,
        payload_schema=PAYLOAD_MODELS[event.name].model_json_schema(),
    )


_SIGNATURE_HEADERS = (
    ("webhook-id", "The message id: the same on every retry, for de-duplication."),
    ("webhook-timestamp", "Seconds since the epoch when the message was signed."),
    (
        "webhook-signature",
        "Space-separated `v1,<base64 HMAC-SHA256>` signatures of "
        "`{webhook-id}.{webhook-timestamp}.{body}` (Standard Webhooks).",
    ),
)


def webhooks_section(components: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 `webhooks` object: one POST per event type, its models in `components`."""
    webhooks: dict[str, Any] = {}
    for name, event in EVENT_TYPES.items():
        model = PAYLOAD_MODELS[name]
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        webhooks[name] = {
            "post": {
                "tags": ["events"],
                "summary": event.description,
                "description": (
                    f"Sent to webhook endpoints subscribed to `{name}` whose platform holds "
                    f"the scope `{event.scope.value}` for the person. Signed per Standard "
                    "Webhooks; answer 2xx within 10 seconds, otherwise it is retried."
                ),
                "operationId": "webhook_" + name.replace(".", "_"),
                "parameters": [
                    {
                        "name": header,
                        "in": "header",
                        "required": True,
                        "description": text,
                        "schema": {"type": "string"},
                    }
                    for header, text in _SIGNATURE_HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received; any other answer is retried."}},
            }
        }
    return webhooks
