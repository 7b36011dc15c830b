"""The HTTP facts of the published schema, derived from what each route already says or does.

- `X-Request-ID` on every response: `RequestContextMiddleware` sets it on all of them.
- 422 on every operation: the input guard refuses a NUL in any path or query string.
- 413 on every `POST`, `PUT` and `PATCH`: the input guard caps every body of those methods.
- `If-Match` where a route declares 412 (it compares the header), required where it also
  declares 428 (it refuses a change without one).
- `ETag` on the 2xx responses of routes that answer through `resource_response` (or
  `private_created_response`); on a `GET`, `If-None-Match` and a 304 too.
- `Location` on the 2xx responses of routes whose code sets one.
- `RateLimit` and `RateLimit-Policy` on every response, and a 429 on every operation, but the
  health checks: the general limits per token and per IP (`app.core.rate_limits`) count
  every request; `Retry-After` too on a 429 (that, or a sign-in limit, `RateLimiter.check`).
- `Cache-Control` on error responses too, where the middleware sends it (`document_cache_control`
  declares it on the successful ones).
- `security: []` on operations that need no token, and on webhooks (a receiver's own).

What a route does is read from its endpoint's code (the names and strings it uses, following
calls into the router layer), so a new route is described by what it does, not by a list kept
beside it; tests/test_openapi_truth.py sends real requests and compares.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute

from app.core.cache_control import policy_for
from app.core.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA_REF
from app.core.rate_limits import EXEMPT_PATHS

_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}
_BODY_METHODS = frozenset({"post", "put", "patch"})
_ETAG_HELPERS = frozenset({"resource_response", "private_created_response"})
_LOCATION_HELPERS = frozenset({"Location", "private_created_response"})
_LOCALIZED = "Content-Language"
"""A route whose code names it (`app.routers.languages`) answers in negotiated languages."""
_ROUTER_PACKAGES = ("app.routers", "app.auth")

HEADERS: dict[str, dict[str, Any]] = {
    "XRequestId": {
        "description": "This request's id: the one sent in `X-Request-ID` when it was short "
        "and printable (`[A-Za-z0-9._:-]{1,128}`), otherwise a new one. Quote it when "
        "reporting a problem.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:\\-]{1,128}$"},
    },
    "ETag": {
        "description": "The entity tag of this representation: send it back in `If-None-Match` "
        "to read only when it changed, or in `If-Match` to change only the copy you read.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9a-f]{32}"$'},
    },
    "Location": {
        "description": "Where the resource this request created (or acts on) lives.",
        "required": True,
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "RetryAfter": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit": {
        "description": "The limit that refused this request: its policy name, the requests "
        "left (`r`) and the seconds until the window resets (`t`) "
        "(IETF httpapi RateLimit header fields).",
        "required": True,
        "schema": {"type": "string", "examples": ['"sign-up-ip";r=0;t=3600']},
    },
    "RateLimitPolicy": {
        "description": "The policy behind that limit: its quota (`q`) per window of `w` seconds.",
        "required": True,
        "schema": {"type": "string", "examples": ['"sign-up-ip";q=5;w=3600']},
    },
}
HEADERS["ContentLanguage"] = {
    "description": "The languages of the response's texts (prompts, labels), as negotiated "
    "from `Accept-Language`, else the person's `locale`, else the content's own language.",
    "required": True,
    "schema": {"type": "string", "examples": ["de", "de, en"]},
}
HEADERS["VaryAcceptLanguage"] = {
    "description": "`Accept-Language` (with `Origin` on cross-origin requests): the same URL "
    "answers in other languages.",
    "required": True,
    "schema": {"type": "string"},
}
HEADERS["RateLimitCounted"] = {
    "description": "What is left of the general limits this request counted against: "
    '`"token"` (per access token) and `"ip"` (per address), with the requests left (`r`) and '
    "the seconds until the window resets (`t`). Absent where an operator turned the limits "
    "off.",
    "schema": {"type": "string", "examples": ['"token";r=599;t=60, "ip";r=1199;t=60']},
}
HEADERS["RateLimitPolicyCounted"] = {
    "description": "The general limits' quotas (`q`) per window of `w` seconds.",
    "schema": {"type": "string", "examples": ['"token";q=600;w=60, "ip";q=1200;w=60']},
}
HEADERS["CacheControlOwn"] = {
    "description": "This operation's own caching policy: `public, max-age=N` for what anyone "
    "may cache (a vocabulary, the server's metadata), `no-store` for a secret shown once.",
    "schema": {"type": "string"},
}
_ERROR_CACHE_CONTROL = {
    "no-store": "CacheControlNoStoreError",
    "private": "CacheControlPrivateError",
}
HEADERS.update(
    {
        name: {
            "description": f"`{policy}`, as on this operation's successful responses.",
            "schema": {"type": "string"},
        }
        for policy, name in _ERROR_CACHE_CONTROL.items()
    }
)
PARAMETERS: dict[str, dict[str, Any]] = {
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The `ETag` of the copy you are changing: a change made meanwhile by "
        "someone else is refused with 412 instead of being overwritten. `*` matches any.",
        "schema": {"type": "string"},
    },
    "IfMatchRequired": {
        "name": "If-Match",
        "in": "header",
        "required": True,
        "description": "The `ETag` of the copy you are changing (required: without it the "
        "change is refused with 428; with a stale one, 412). `*` matches any.",
        "schema": {"type": "string"},
    },
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "The `ETag` of the copy you hold: when it is still current the answer is "
        "304 without a body. `*` matches any.",
        "schema": {"type": "string"},
    },
}
_NOT_MODIFIED = {
    "description": "Not modified: the copy named in `If-None-Match` is current.",
    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
}
_TOO_LARGE = {
    "description": "The request body is over the size limit (1 MiB).",
    "content": _PROBLEM_CONTENT,
}
_RATE_LIMITED = {
    "description": "Too many requests from this token or this address: wait `Retry-After` seconds.",
    "content": _PROBLEM_CONTENT,
}
_UNAVAILABLE = {
    "description": "The database cannot be reached just now (a restart, a failover): try "
    "again after `Retry-After` seconds.",
    "content": _PROBLEM_CONTENT,
}
_NO_DATABASE = frozenset({"/healthz", "/readyz"})
"""Liveness never reads the database; readiness declares its own 503."""
_NUL_OR_INVALID = {
    "description": "The request is not valid (a NUL character in the path or query string is "
    "refused by every operation); `errors` names each invalid field.",
    "content": _PROBLEM_CONTENT,
}


def _header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


def _callee(owner: Any, name: str) -> Callable[..., Any] | None:
    value = getattr(owner, name, None) if owner is not None else None
    function = getattr(value, "__func__", value)
    if inspect.isfunction(function) and function.__module__.startswith(_ROUTER_PACKAGES):
        return function
    return None


def code_facts(function: Callable[..., Any]) -> set[str]:
    """The names and strings an endpoint uses, following calls into router-layer helpers:
    module functions, and methods of router-layer objects it closes over or names."""
    facts: set[str] = set()
    seen: set[int] = set()
    pending: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [(function, ())]
    while pending:
        current, inherited = pending.pop()
        current = inspect.unwrap(current)
        code = getattr(current, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        module = inspect.getmodule(current)
        cells = [c.cell_contents for c in (current.__closure__ or ()) if _filled(c)]
        names = {name for part in _code_objects(code) for name in part.co_names}
        named = [getattr(module, name, None) for name in names]
        for value in named:  # module constants such as `NO_STORE = {"Cache-Control": ...}`
            if isinstance(value, Mapping):
                facts.update(key for key in value if isinstance(key, str))
        objects = [o for o in (*inherited, *cells, *named) if _router_object(o)]
        owners = (module, *objects)
        for part in _code_objects(code):
            facts.update(part.co_names)
            facts.update(c for c in part.co_consts if isinstance(c, str))
        for name in names:
            for owner in owners:
                if (callee := _callee(owner, name)) is not None:
                    pending.append((callee, tuple(objects)))
    return facts


def _router_object(value: Any) -> bool:
    """An instance of a class of the router layer (e.g. a `CurationRoutes`)."""
    kind = type(value)
    return not isinstance(value, type) and kind.__module__.startswith(_ROUTER_PACKAGES)


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _route_facts(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    facts: dict[tuple[str, str], set[str]] = {}
    for route in routing.iter_route_contexts(app.routes):
        endpoint, path = route.endpoint, route.path_format
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        if endpoint is None or path is None:
            continue
        found = code_facts(endpoint)
        for method in route.methods or ():
            facts[(path, method.lower())] = found
    return facts


def _add_parameter(operation: dict[str, Any], ref: str, name: str) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name", "").lower() == name.lower() for p in parameters):
        parameters.append(dict(PARAMETERS[ref]))


def _add_headers(response: dict[str, Any], **headers: dict[str, str]) -> dict[str, Any]:
    return {**response, "headers": {**response.get("headers", {}), **headers}}


def _cache_header(policy: str) -> dict[str, str]:
    return _header(_ERROR_CACHE_CONTROL[policy])


def _document_operation(path: str, method: str, operation: dict[str, Any], facts: set[str]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    security = operation.get("security")
    if "412" in responses:
        required = "428" in responses
        _add_parameter(operation, "IfMatchRequired" if required else "IfMatch", "If-Match")
    etagged = bool(facts & _ETAG_HELPERS)
    if etagged and method == "get":
        _add_parameter(operation, "IfNoneMatch", "If-None-Match")
        responses["304"] = _NOT_MODIFIED
    if method in _BODY_METHODS:
        responses.setdefault("413", _TOO_LARGE)
    responses.setdefault("422", _NUL_OR_INVALID)
    if path not in _NO_DATABASE:
        responses.setdefault("503", _UNAVAILABLE)
    counted = path not in EXEMPT_PATHS
    if counted:
        responses.setdefault("429", _RATE_LIMITED)
    localized = _LOCALIZED in facts
    for status, response in list(responses.items()):
        if localized and (status.startswith("2") or status == "304") and status != "204":
            response = _add_headers(
                response,
                **{
                    "Content-Language": _header("ContentLanguage"),
                    "Vary": _header("VaryAcceptLanguage"),
                },
            )
        if status.startswith("2"):
            if etagged and status != "204":
                response = _add_headers(response, ETag=_header("ETag"))
            if facts & _LOCATION_HELPERS and status in ("201", "202"):
                response = _add_headers(response, Location=_header("Location"))
        elif not status.startswith("3") and (policy := policy_for(path, bool(security))):
            response = _add_headers(response, **{"Cache-Control": _cache_header(policy)})
        if "Cache-Control" in facts and (status.startswith("2") or status == "304"):
            response = _add_headers(response, **{"Cache-Control": _header("CacheControlOwn")})
        if status == "503" and path not in _NO_DATABASE:
            response = _add_headers(response, **{"Retry-After": _header("RetryAfter")})
        if status == "429":
            response = _add_headers(
                response,
                **{
                    "Retry-After": _header("RetryAfter"),
                    "RateLimit": _header("RateLimit"),
                    "RateLimit-Policy": _header("RateLimitPolicy"),
                },
            )
        elif counted:
            response = _add_headers(
                response,
                **{
                    "RateLimit": _header("RateLimitCounted"),
                    "RateLimit-Policy": _header("RateLimitPolicyCounted"),
                },
            )
        responses[status] = _add_headers(response, **{"X-Request-ID": _header("XRequestId")})
    operation["responses"] = dict(sorted(responses.items()))
    if "security" not in operation:
        operation["security"] = []


def document_http(app: FastAPI, schema: dict[str, Any]) -> None:
    facts = _route_facts(app)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _document_operation(path, method, operation, facts.get((path, method), set()))
    for item in schema.get("webhooks", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.setdefault("security", [])
    components = schema.setdefault("components", {})
    components.setdefault("headers", {}).update(HEADERS)
