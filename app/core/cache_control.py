"""`Cache-Control` on personal data: `no-store` for private writing, `private` for the rest.

Responses that may carry private writing (the journal, check-ins, a couple's check-in list,
the sync feed, data exports) are `no-store`: no cache, shared or the device's own, keeps a
copy. Any other `/v1` response to a request carrying credentials is personal and `private`
(a shared cache must not keep it), unless the endpoint chose its own policy. The same rule
documents the header in the published schema (`document_cache_control`). The outermost
middleware (`app.core.middleware.RequestContextMiddleware`) applies `policy_for` to every
response.
"""

from __future__ import annotations

import re
from typing import Any

NO_STORE = "no-store"
PRIVATE = "private"
_PRIVATE_WRITING = re.compile(r"^/v1/(journal|checkins|couples/me/checkins|sync)(/|$)")
_PERSONAL = re.compile(r"^/v1(/|$)")
CACHE_CONTROL_HEADER = b"cache-control"


def carries_private_writing(path: str) -> bool:
    return _PRIVATE_WRITING.match(path) is not None


def policy_for(path: str, authenticated: bool) -> str | None:
    """The `Cache-Control` a response to this path gets (None: the endpoint's own, or none)."""
    if carries_private_writing(path):
        return NO_STORE
    if authenticated and _PERSONAL.match(path):
        return PRIVATE
    return None


_COMPONENT = {NO_STORE: "CacheControlNoStore", PRIVATE: "CacheControlPrivate"}
_DOCUMENTED = {
    NO_STORE: {
        "description": "`no-store`: this response may carry private writing; keep no copy.",
        "schema": {"type": "string", "enum": [NO_STORE]},
    },
    PRIVATE: {
        "description": "`private` (personal data: a shared cache must not keep it), unless "
        "this operation says otherwise (`no-store` for a secret shown once).",
        "schema": {"type": "string"},
    },
}


def document_cache_control(schema: dict[str, Any]) -> None:
    """Declare the `Cache-Control` header on the successful responses of the operations that
    send it (problem responses get it too, without the promise)."""
    used: set[str] = set()
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            policy = policy_for(path, authenticated=bool(operation.get("security")))
            if policy is None:
                continue
            used.add(policy)
            header = {"$ref": f"#/components/headers/{_COMPONENT[policy]}"}
            responses = operation["responses"]
            for status, response in list(responses.items()):
                if "$ref" in response or not status.startswith(("2", "3")):
                    continue  # problems carry no personal data: the header is not promised
                headers = {**response.get("headers", {}), "Cache-Control": header}
                responses[status] = {**response, "headers": headers}
    if used:
        components = schema.setdefault("components", {}).setdefault("headers", {})
        for policy in sorted(used):
            components[_COMPONENT[policy]] = _DOCUMENTED[policy]
