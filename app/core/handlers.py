"""Exception handlers: every error leaves as an RFC 9457 problem."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.core.problems import FieldError, ProblemError, problem_response

_LOCATION_TO_FIELD = {
    "query": "parameter",
    "path": "parameter",
    "header": "header",
    "cookie": "parameter",
}


def _field_error(error: dict[str, Any]) -> FieldError:
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "Invalid value")).removeprefix("Value error, ")
    if loc and loc[0] == "body":
        pointer = "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in loc[1:])
        return FieldError(pointer=pointer if len(loc) > 1 else "#", detail=message)
    if loc and loc[0] in _LOCATION_TO_FIELD and len(loc) > 1:
        return FieldError(**{_LOCATION_TO_FIELD[loc[0]]: loc[1]}, detail=message)
    return FieldError(detail=message)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return exc.to_response(instance=request.url.path)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(e) for e in exc.errors()]
    return problem_response(
        status=422,
        slug="validation-error",
        title="Your request is not valid",
        detail="; ".join(
            f"{e.pointer or e.parameter or e.header or 'request'}: {e.detail}" for e in errors[:5]
        ),
        instance=request.url.path,
        extra={"errors": [e.model_dump(exclude_none=True) for e in errors]},
    )


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    phrase = (
        HTTPStatus(exc.status_code).phrase
        if exc.status_code in HTTPStatus._value2member_map_
        else "Error"
    )
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if exc.status_code == 404 and detail is None:
        detail = "No resource lives at this address."
    return problem_response(
        status=exc.status_code,
        slug=slug,
        title=phrase,
        detail=detail,
        instance=request.url.path,
        headers=exc.headers,
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
