"""Deprecation (RFC 9745) and Sunset (RFC 8594) headers on a route marked deprecated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel

from app.core.deprecation import deprecated, deprecation_headers, deprecation_schema
from app.core.etag import resource_response
from tests.derived_app import client_for, derived_app

SINCE = datetime(2026, 12, 1, tzinfo=UTC)
SUNSET = datetime(2027, 6, 1, tzinfo=UTC)
NOTES = "/docs/versioning#old-greeting"


class Greeting(BaseModel):
    text: str


def _router() -> APIRouter:
    router = APIRouter(prefix="/test")
    retired = deprecated(since=SINCE, sunset=SUNSET, link=NOTES)

    @router.get(
        "/old-greeting",
        response_model=Greeting,
        dependencies=[retired],
        openapi_extra=deprecation_schema(),
    )
    async def old_greeting() -> Greeting:
        return Greeting(text="hello")

    @router.get("/old-resource", dependencies=[retired], openapi_extra=deprecation_schema())
    async def old_resource(request: Request) -> Response:
        return resource_response(request, Greeting(text="hello"))

    @router.get("/current")
    async def current() -> Greeting:
        return Greeting(text="hello")

    return router


@pytest.fixture
def test_app(app: FastAPI) -> FastAPI:
    return derived_app(app, _router())


@pytest.fixture
async def http(test_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(test_app) as client:
        yield client


@pytest.mark.parametrize("path", ["/test/old-greeting", "/test/old-resource"])
async def test_a_deprecated_route_says_since_when_and_until_when(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["deprecation"] == f"@{int(SINCE.timestamp())}"
    assert parsedate_to_datetime(response.headers["sunset"]) == SUNSET
    assert response.headers["link"] == f'<{NOTES}>; rel="deprecation"; type="text/html"'


async def test_other_routes_are_not_marked(http: httpx.AsyncClient) -> None:
    response = await http.get("/test/current")
    assert "deprecation" not in response.headers
    assert "sunset" not in response.headers


@pytest.mark.slow  # builds a whole schema
def test_the_schema_marks_the_operation_and_declares_the_headers(test_app: FastAPI) -> None:
    operation = test_app.openapi()["paths"]["/test/old-greeting"]["get"]
    assert operation["deprecated"] is True
    headers = operation["responses"]["200"]["headers"]
    assert headers["Deprecation"]["required"] is True
    assert headers["Sunset"]["required"] is True
    assert "x-rapport-deprecation-headers" not in operation
    current = test_app.openapi()["paths"]["/test/current"]["get"]
    assert "deprecated" not in current


def test_a_sunset_comes_after_the_deprecation() -> None:
    with pytest.raises(ValueError, match="after"):
        deprecation_headers(SUNSET, SINCE)
    assert "Sunset" not in deprecation_headers(SINCE)
