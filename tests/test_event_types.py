"""The event catalog, published twice: `GET /v1/event-types` and the OpenAPI `webhooks`."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.core.event_catalog import EVENT_TYPES, EventType


def _names(event: EventType) -> list[str]:
    return [field.name for field in event.fields]


async def test_every_catalog_type_is_listed_with_its_scope_and_schema(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/event-types")  # public: no token
    assert response.status_code == 200, response.text
    listed = {item["name"]: item for item in response.json()["data"]}
    assert set(listed) == set(EVENT_TYPES)
    for name, event in EVENT_TYPES.items():
        item = listed[name]
        assert item["scope"] == event.scope.value
        assert item["description"] == event.description
        schema = item["payload_schema"]
        assert schema["properties"]["type"]["const"] == name
        data = schema["$defs"][schema["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert set(data["properties"]) == {"id", "user_id", "couple_id", *_names(event)}


async def test_every_catalog_type_is_a_webhook_in_the_openapi_document(app: FastAPI) -> None:
    schema = app.openapi()
    webhooks = schema["webhooks"]
    assert set(EVENT_TYPES) <= set(webhooks)
    components = schema["components"]["schemas"]
    for name, event in EVENT_TYPES.items():
        post = webhooks[name]["post"]
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        payload = components[ref.rsplit("/", 1)[1]]
        assert payload["properties"]["type"]["const"] == name
        data = components[payload["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert set(data["properties"]) == {"id", "user_id", "couple_id", *_names(event)}
        headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers
        assert event.scope.value in post["description"]


async def test_consent_revoked_is_in_the_catalog() -> None:
    event = EVENT_TYPES["consent.revoked"]
    assert event.scope.value == "couple:read" and _names(event) == ["client_id"]
