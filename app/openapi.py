"""The published OpenAPI document: FastAPI's output, finished to our conventions.

Every error is an RFC 9457 problem; FastAPI's own validation-error schemas are replaced by
ours so that what the schema promises is what clients receive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.config import PROJECT_ROOT
from app.core.cache_control import document_cache_control
from app.core.deprecation import document_deprecations
from app.core.idempotency import document_idempotency
from app.core.pagination import name_page_schemas
from app.core.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA_REF, FieldError, Problem
from app.openapi_http import document_http
from app.openapi_info import describe_api, name_time_zones, name_vocabulary_keys
from app.openapi_required import mark_response_fields_required
from app.schemas.event_types import webhooks_section
from app.schemas.oauth import FORM_BODIES

SCHEMA_PATH = PROJECT_ROOT / "openapi" / "openapi.json"
_VALIDATION_PROBLEM = {
    "description": "The request is not valid; `errors` names each invalid field.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
}

# A body that cannot be read at all (not UTF-8, not form-encoded) fails before validation.
_UNREADABLE_BODY_PROBLEM = {
    "description": "The request body could not be parsed.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version="3.1.0",
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=getattr(app, "openapi_tags", None),
        webhooks=app.webhooks.routes,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["FieldError"] = FieldError.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    problem.pop("$defs", None)
    components["Problem"] = problem
    for name, model in sorted(FORM_BODIES.items()):
        components[name] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    # One webhook per event type, from the catalog (FastAPI's own `app.webhooks` kept too).
    schema["webhooks"] = {**webhooks_section(components), **schema.get("webhooks", {})}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            generated = responses.get("422", {}).get("content", {}).get("application/json")
            if generated is not None or (
                "422" not in responses
                and (operation.get("parameters") or operation.get("requestBody"))
            ):
                responses["422"] = _VALIDATION_PROBLEM
            if operation.get("requestBody") and "400" not in responses:
                responses["400"] = _UNREADABLE_BODY_PROBLEM
            alternatives = [r for r in operation.get("security", []) if any(r.values())]
            if alternatives:  # `openapi_extra` alternatives replace the scope-less requirement
                operation["security"] = alternatives
    document_idempotency(schema)
    document_http(app, schema)
    document_deprecations(schema)
    document_cache_control(schema)
    name_page_schemas(schema)
    mark_response_fields_required(schema)
    describe_api(schema)
    name_time_zones(schema)
    name_vocabulary_keys(schema)
    document_event_streams(schema)
    return schema


_EVENT_STREAM = "text/event-stream"
_EVENT_STREAM_EXAMPLE = (
    ": stream open\nretry: 3000\n\n"
    'data: {"seq": 42, "type": "conversation.moved", "resource_type": "none", ...}\n'
    "id: WzQyLDQyLDE3NjQ3NzQ0MDBd.2J3mYcXv0kQx8JZrL1n8aA\n\n"
    ": heartbeat\n\n"
)


def document_event_streams(schema: dict[str, Any]) -> None:
    """A Server-Sent Events response in terms OpenAPI 3.1 knows.

    FastAPI describes each event with `itemSchema`, which only OpenAPI 3.2 defines (and 3.1
    validators refuse): the body becomes a string with an example, and the per-event schema
    is kept as the extension `x-itemSchema`, `data` optional (an event without it only moves
    the cursor)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for response in operation.get("responses", {}).values():
                media = response.get("content", {}).get(_EVENT_STREAM)
                if media is None or "itemSchema" not in media:
                    continue
                item = media.pop("itemSchema")
                item.pop("required", None)
                media["schema"] = {
                    "type": "string",
                    "description": "Server-Sent Events; see `x-itemSchema` for one event.",
                }
                media["example"] = _EVENT_STREAM_EXAMPLE
                media["x-itemSchema"] = item


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_schema(schema: dict[str, Any], path: Path = SCHEMA_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(schema), encoding="utf-8")
