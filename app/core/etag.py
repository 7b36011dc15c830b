"""Entity tags on single resources: conditional GET (304) and optimistic concurrency (412/428)."""

from __future__ import annotations

import hashlib

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from app.core.problems import PreconditionFailed, PreconditionRequired


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _listed(header: str) -> list[str]:
    return [part.strip().removeprefix("W/") for part in header.split(",") if part.strip()]


def resource_response(
    request: Request,
    model: BaseModel,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Serialise one resource with its ETag, answering 304 to a read (`GET`, `HEAD`) when the
    client's copy is current; a change answers its result whatever `If-None-Match` says."""
    body = model.model_dump_json().encode()
    etag = etag_for(body)
    retired: dict[str, str] = getattr(request.state, "deprecation_headers", {})
    all_headers = {"ETag": etag, **retired, **(headers or {})}
    if_none_match = request.headers.get("if-none-match")
    reading = request.method in ("GET", "HEAD")
    if status_code == 200 and reading and if_none_match is not None:
        candidates = _listed(if_none_match)
        if "*" in candidates or etag in candidates:
            return Response(status_code=304, headers=all_headers)
    return Response(
        body, status_code=status_code, media_type="application/json", headers=all_headers
    )


def check_if_match(request: Request, current: BaseModel, *, required: bool = False) -> None:
    """Refuse a change made against a stale copy (412), or without a copy when required (428)."""
    header = request.headers.get("if-match")
    if header is None:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag of the copy you are changing, so that a change "
                "made meanwhile by someone else is not overwritten."
            )
        return
    candidates = _listed(header)
    if "*" in candidates:
        return
    if etag_for(current.model_dump_json().encode()) not in candidates:
        raise PreconditionFailed(
            "The resource changed since you read it. Fetch it again, then retry your change."
        )


def private_created_response(request: Request, model: BaseModel, location: str) -> Response:
    """201 for private writing (a journal entry, a check-in's note): marked `no-store`, so
    neither a cache nor the idempotency store keeps a copy — it lives in one place only."""
    return resource_response(
        request,
        model,
        status_code=201,
        headers={"Location": location, "Cache-Control": "no-store"},
    )
