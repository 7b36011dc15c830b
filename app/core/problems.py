"""RFC 9457 problem details: error classes that know their status, and their rendering.

Services raise these; one handler renders them; routers declare them in `responses`
so the published schema documents every error an operation can return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from app.core.context import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


class FieldError(BaseModel):
    """One invalid input: where it is and what is wrong with it."""

    pointer: str | None = Field(
        default=None, description="JSON Pointer (RFC 6901) into the request body, e.g. `#/email`."
    )
    parameter: str | None = Field(
        default=None, description="Name of an invalid query or path parameter."
    )
    header: str | None = Field(default=None, description="Name of an invalid header.")
    detail: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI reference identifying the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_type_uri(slug: str) -> str:
    return f"/problems/{slug}"


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type_uri(slug) if slug != "about:blank" else slug,
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE
    )


class ProblemError(Exception):
    """Base of every error a client can cause; subclasses fix status, slug and title."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra

    def to_response(self, instance: str | None = None) -> JSONResponse:
        return problem_response(
            status=self.status,
            slug=self.slug,
            title=self.title,
            detail=self.detail,
            instance=instance,
            headers=self.headers,
            extra=self.extra,
        )


class BadRequest(ProblemError):
    pass


class Unauthorized(ProblemError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class InsufficientScope(Forbidden):
    slug = "insufficient-scope"
    title = "Insufficient scope"


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(ProblemError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class PreconditionRequired(ProblemError):
    status = 428
    slug = "precondition-required"
    title = "Precondition required"


class UnprocessableContent(ProblemError):
    """A well-formed request that breaks a rule; `errors` names the fields."""

    status = 422
    slug = "validation-error"
    title = "Your request is not valid"

    def __init__(
        self, detail: str | None = None, *, errors: Sequence[FieldError] = (), **extra: Any
    ) -> None:
        if errors:
            extra["errors"] = [e.model_dump(exclude_none=True) for e in errors]
        super().__init__(detail, **extra)


class RateLimited(ProblemError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(
            detail or f"Try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def responses_for(*errors: type[ProblemError]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of a route that can raise these errors."""
    documented: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = documented.setdefault(
            error.status,
            {
                "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
                "description": "",
            },
        )
        titles = [t for t in entry["description"].split("; ") if t]
        if error.title not in titles:
            titles.append(error.title)
        entry["description"] = "; ".join(titles) or HTTPStatus(error.status).phrase
    return documented
