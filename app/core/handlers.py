"""Exception handlers: every error leaves as an RFC 9457 problem."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount

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
    if error.get("type") == "json_invalid":
        # FastAPI puts the character offset where a field name belongs.
        reason = error.get("ctx", {}).get("error", "malformed")
        return FieldError(pointer="#", detail=f"is not valid JSON: {reason}")
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


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request, reported: str) -> str:
    """Every method some route serves at this path: the router reports only its first match's.

    Mounts match a path whatever the method, so they are left to what they reported.
    """
    allowed = {m.strip().upper() for m in reported.split(",") if m.strip()}
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    for method in _METHODS:
        probe = {
            "type": "http",
            "method": method,
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "headers": [],
            "query_string": b"",
        }
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.add(method)
    return ", ".join([m for m in _METHODS if m in allowed] + sorted(allowed - set(_METHODS)))


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
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
        headers=headers,
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
