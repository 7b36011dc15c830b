"""Response fields are always present: mark them required in the published schema.

Every JSON response body is a full pydantic dump (no `exclude_none`, no `exclude_unset`), so
a field with a default is still in every response (as `null` when it has no value). A
schema reached only from responses gets all its properties `required`, so that generated
clients type them as present. Schemas also reached from a request body (or from a webhook's
body) are left as they are, and so are the bodies not dumped by pydantic: problem details
(`exclude_none`) and the OAuth endpoints' answers (written by the authorization server).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_NOT_FULL_DUMPS = frozenset(
    {"Problem", "FieldError", "TokenResponse", "IntrospectionResponse", "OAuthError"}
)
_PREFIX = "#/components/schemas/"


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_PREFIX):
            yield ref.removeprefix(_PREFIX)
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _closure(start: set[str], components: dict[str, Any]) -> set[str]:
    reached: set[str] = set()
    pending = list(start)
    while pending:
        name = pending.pop()
        if name in reached or name not in components:
            continue
        reached.add(name)
        pending.extend(_refs(components[name]))
    return reached


def _operations(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for section in ("paths", "webhooks"):
        for item in schema.get(section, {}).values():
            for operation in item.values():
                if isinstance(operation, dict):
                    yield operation


def mark_response_fields_required(schema: dict[str, Any]) -> None:
    components: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    inputs: set[str] = set()
    outputs: set[str] = set()
    for operation in _operations(schema):
        inputs.update(_refs(operation.get("requestBody", {})))
        inputs.update(_refs(operation.get("parameters", [])))
        outputs.update(_refs(operation.get("responses", {})))
    only_out = _closure(outputs, components) - _closure(inputs, components) - _NOT_FULL_DUMPS
    for name in sorted(only_out):
        component = components[name]
        properties = component.get("properties")
        if properties:
            component["required"] = list(properties)
