"""Every error is an RFC 9457 problem (app.core.handlers, app.core.middleware)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, Field

from app.core.problems import NotFound
from tests.derived_app import client_for, derived_app

PROBLEM = "application/problem+json"
SECRET_TEXT = "connection string postgres://admin:hunter2@db"


class Item(BaseModel):
    name: str = Field(min_length=1)
    quantity: int = Field(ge=1)


class Order(BaseModel):
    items: list[Item]
    note: str | None = None


router = APIRouter(prefix="/test")


@router.get("/search")
async def search(
    size: Annotated[int, Query(ge=1, le=10)] = 5, sort: Annotated[str, Query()] = "name"
) -> dict[str, int]:
    return {"size": size}


@router.post("/orders", status_code=201)
async def create_order(order: Order) -> Order:
    return order


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError(SECRET_TEXT)


@router.get("/missing")
async def missing() -> None:
    raise NotFound("No note with this id.")


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(derived_app(app, router)) as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, object] = response.json()
    assert problem["status"] == status
    assert isinstance(problem["type"], str)
    assert isinstance(problem["title"], str)
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/v1/nothing-here"), 404)
    assert problem["type"] == "/problems/not-found"
    assert problem["instance"] == "/v1/nothing-here"
    assert problem["detail"]


async def test_a_raised_problem_keeps_its_detail(http: httpx.AsyncClient) -> None:
    problem = assert_problem(await http.get("/test/missing"), 404)
    assert problem == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No note with this id.",
        "instance": "/test/missing",
        "request_id": problem["request_id"],
    }


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/v1/me", "GET, PATCH, DELETE"),
        ("DELETE", "/v1/users", "POST"),
        ("PUT", "/healthz", "GET"),
    ],
)
async def test_a_wrong_method_is_a_405_problem_listing_every_allowed_method(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    problem = assert_problem(response, 405)
    assert problem["type"] == "/problems/method-not-allowed"
    assert response.headers["allow"] == allowed


async def test_invalid_body_fields_are_named_by_json_pointers(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/test/orders",
        json={"items": [{"name": "tea", "quantity": 1}, {"name": "", "quantity": 0}]},
    )
    problem = assert_problem(response, 422)
    assert problem["type"] == "/problems/validation-error"
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert {e["pointer"] for e in errors} == {"#/items/1/name", "#/items/1/quantity"}
    assert all(e["detail"] for e in errors)


async def test_a_missing_body_field_is_named_too(http: httpx.AsyncClient) -> None:
    problem = assert_problem(await http.post("/test/orders", json={"note": "hi"}), 422)
    assert problem["errors"] == [{"pointer": "#/items", "detail": "Field required"}]


async def test_invalid_query_parameters_are_named(http: httpx.AsyncClient) -> None:
    problem = assert_problem(await http.get("/test/search", params={"size": "eleven"}), 422)
    assert [e.get("parameter") for e in problem["errors"]] == ["size"]  # type: ignore[attr-defined]
    assert_problem(await http.get("/test/search", params={"size": 11}), 422)


@pytest.mark.parametrize(
    "body", [b'{"items": [', b"not json at all", b'{"items": []', b"\xff\xfe"], ids=repr
)
async def test_a_malformed_json_body_is_a_422_problem(http: httpx.AsyncClient, body: bytes) -> None:
    response = await http.post(
        "/test/orders", content=body, headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["pointer"] == "#"  # type: ignore[index]
    assert "JSON" in problem["errors"][0]["detail"]  # type: ignore[index]


async def test_a_crash_is_a_500_problem_that_leaks_nothing(http: httpx.AsyncClient) -> None:
    response = await http.get("/test/crash", headers={"X-Request-ID": "crash-1"})
    problem = assert_problem(response, 500)
    assert response.headers["x-request-id"] == "crash-1"
    assert problem["type"] == "/problems/internal-error"
    assert set(problem) == {"type", "title", "status", "detail", "request_id"}
    for leak in ("Traceback", "RuntimeError", "hunter2", "postgres://", ".py", "line "):
        assert leak not in response.text


async def test_a_crash_in_a_post_is_a_500_problem_too(app: FastAPI) -> None:
    crashing = APIRouter()

    @crashing.post("/test/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET_TEXT)

    async with client_for(derived_app(app, crashing)) as http:
        response = await http.post("/test/boom", json={}, headers={"Idempotency-Key": "k"})
    assert_problem(response, 500)
    assert "hunter2" not in response.text
