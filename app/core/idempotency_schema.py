"""The Idempotency-Key header, its replay marker and its problems in the published schema."""

from __future__ import annotations

from typing import Any

from app.core.idempotency_request import EXCLUDED_PREFIXES, HEADER, REPLAYED_HEADER
from app.core.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA_REF

_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}
_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request replays the first response "
        f"(marked `{REPLAYED_HEADER}: true`) for 24 hours instead of acting twice. "
        "Use a new random key, such as a UUID, for every new request."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
}
_REPLAYED = {
    "description": "`true` when this response is the replay of an earlier request's.",
    "schema": {"type": "string", "enum": ["true"]},
}


def _with_description(response: dict[str, Any] | None, description: str) -> dict[str, Any]:
    if response is None:
        return {"description": description, "content": _PROBLEM_CONTENT}
    known = [part for part in str(response.get("description", "")).split("; ") if part]
    if description not in known:
        known.append(description)
    return {**response, "description": "; ".join(known)}


def document_idempotency(schema: dict[str, Any]) -> None:
    """Declare the header, the replay marker and the 409/422 problems on every POST."""
    for path, item in schema.get("paths", {}).items():
        operation = item.get("post")
        if operation is None or path.startswith(EXCLUDED_PREFIXES):
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == HEADER.lower() for p in parameters):
            parameters.append(dict(_PARAMETER))
        responses = operation.setdefault("responses", {})
        for status, response in list(responses.items()):
            if str(status).startswith("2"):
                responses[status] = {
                    **response,
                    "headers": {**response.get("headers", {}), REPLAYED_HEADER: _REPLAYED},
                }
        responses["409"] = _with_description(
            responses.get("409"), "A request with this Idempotency-Key is in progress"
        )
        responses["422"] = _with_description(
            responses.get("422"), "The Idempotency-Key is invalid or belongs to another request"
        )
