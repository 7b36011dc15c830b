"""Retiring an operation: `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) headers.

    @router.get("/v1/old", dependencies=[deprecated(since=..., sunset=..., link="/docs/...")],
                deprecated=True, openapi_extra=deprecation_schema(...))

`deprecated(...)` is a dependency that adds both headers, and a `Link` to the migration
notes, to the route's responses: those FastAPI builds from the return value, and those of
`resource_response` (problem responses go without); `deprecation_schema(...)` declares them
in the published schema. docs/versioning.md says how long a deprecated operation lives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import Depends, Request, Response

DEPRECATION = "Deprecation"
SUNSET = "Sunset"


def deprecation_value(since: datetime) -> str:
    """RFC 9745: a Structured Field date, `@` and the Unix time."""
    return f"@{int(since.astimezone(UTC).timestamp())}"


def sunset_value(sunset: datetime) -> str:
    """RFC 8594: an HTTP-date."""
    return format_datetime(sunset.astimezone(UTC), usegmt=True)


def deprecation_headers(
    since: datetime, sunset: datetime | None = None, link: str | None = None
) -> dict[str, str]:
    headers = {DEPRECATION: deprecation_value(since)}
    if sunset is not None:
        if sunset <= since:
            raise ValueError("an operation's sunset comes after its deprecation")
        headers[SUNSET] = sunset_value(sunset)
    if link is not None:
        headers["Link"] = f'<{link}>; rel="deprecation"; type="text/html"'
    return headers


def deprecated(*, since: datetime, sunset: datetime | None = None, link: str | None = None) -> Any:
    """A route dependency that marks every response of the route deprecated."""
    headers = deprecation_headers(since, sunset, link)

    def mark(request: Request, response: Response) -> None:
        response.headers.update(headers)
        request.state.deprecation_headers = headers  # for a Response the route builds itself

    marker: Callable[[Request, Response], None] = mark
    return Depends(marker)


def deprecation_schema(*, sunset: bool = True, link: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a deprecated route: its headers, declared on its responses by
    `document_deprecations` (required on the successful ones)."""
    headers: dict[str, Any] = {
        DEPRECATION: {
            "description": "RFC 9745: this operation is deprecated since this date.",
            "required": True,
            "schema": {"type": "string", "pattern": "^@[0-9]+$"},
        }
    }
    if sunset:
        headers[SUNSET] = {
            "description": "RFC 8594: the operation stops answering after this HTTP-date.",
            "required": True,
            "schema": {"type": "string"},
        }
    if link:
        headers["Link"] = {
            "description": 'The migration notes, `rel="deprecation"`.',
            "schema": {"type": "string"},
        }
    return {"x-rapport-deprecation-headers": headers}


def document_deprecations(schema: dict[str, Any]) -> None:
    """Move each deprecated operation's declared headers onto its responses."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            headers = operation.pop("x-rapport-deprecation-headers", None)
            if headers is None:
                continue
            operation["deprecated"] = True
            for status, response in operation.get("responses", {}).items():
                declared = headers if status.startswith("2") else _optional(headers)
                response["headers"] = {**response.get("headers", {}), **declared}


def _optional(headers: dict[str, Any]) -> dict[str, Any]:
    return {name: {**header, "required": False} for name, header in headers.items()}
