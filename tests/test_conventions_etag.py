"""Entity tags (app.core.etag): conditional GET and optimistic concurrency, on a test resource."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel

from app.core.etag import check_if_match, etag_for, resource_response
from tests.derived_app import client_for, derived_app


class Note(BaseModel):
    text: str


class NoteStore:
    def __init__(self) -> None:
        self.note = Note(text="first")
        self.router = APIRouter(prefix="/test")
        self.router.add_api_route("/note", self.read, methods=["GET"])
        self.router.add_api_route("/note", self.change, methods=["PATCH"])
        self.router.add_api_route("/note/strict", self.change_strictly, methods=["PATCH"])

    async def read(self, request: Request) -> Response:
        return resource_response(request, self.note)

    async def change(self, request: Request, note: Note) -> Response:
        check_if_match(request, self.note)
        self.note = note
        return resource_response(request, self.note)

    async def change_strictly(self, request: Request, note: Note) -> Response:
        check_if_match(request, self.note, required=True)
        self.note = note
        return resource_response(request, self.note)


@pytest.fixture
def store() -> NoteStore:
    return NoteStore()


@pytest.fixture
async def http(app: FastAPI, store: NoteStore) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(derived_app(app, store.router)) as client:
        yield client


async def current_etag(http: httpx.AsyncClient) -> str:
    return (await http.get("/test/note")).headers["etag"]


async def test_a_resource_carries_a_strong_quoted_etag_of_its_content(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/test/note")
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert etag == etag_for(response.content)


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', "*"],
    ids=["exact", "weak", "listed", "star"],
)
async def test_if_none_match_answers_304_without_a_body(
    http: httpx.AsyncClient, if_none_match: str
) -> None:
    etag = await current_etag(http)
    response = await http.get(
        "/test/note", headers={"If-None-Match": if_none_match.format(etag=etag)}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert "x-request-id" in response.headers


async def test_if_none_match_with_an_old_etag_gets_the_new_copy(
    http: httpx.AsyncClient,
) -> None:
    old = await current_etag(http)
    await http.patch("/test/note", json={"text": "second"})
    response = await http.get("/test/note", headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.json() == {"text": "second"}
    assert response.headers["etag"] != old


async def test_if_match_with_the_current_etag_changes_the_resource(
    http: httpx.AsyncClient, store: NoteStore
) -> None:
    etag = await current_etag(http)
    response = await http.patch("/test/note", json={"text": "second"}, headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag
    assert store.note.text == "second"


async def test_if_match_with_a_stale_etag_is_a_412_problem_and_changes_nothing(
    http: httpx.AsyncClient, store: NoteStore
) -> None:
    stale = await current_etag(http)
    await http.patch("/test/note", json={"text": "second"})
    response = await http.patch(
        "/test/note", json={"text": "lost update"}, headers={"If-Match": stale}
    )
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/precondition-failed"
    assert store.note.text == "second"


async def test_if_match_star_and_lists(http: httpx.AsyncClient) -> None:
    assert (
        await http.patch("/test/note", json={"text": "a"}, headers={"If-Match": "*"})
    ).status_code == 200
    etag = await current_etag(http)
    listed = await http.patch(
        "/test/note", json={"text": "b"}, headers={"If-Match": f'"nope", {etag}'}
    )
    assert listed.status_code == 200


async def test_if_match_can_be_required(http: httpx.AsyncClient, store: NoteStore) -> None:
    response = await http.patch("/test/note/strict", json={"text": "blind write"})
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/precondition-required"
    assert store.note.text == "first"
    etag = await current_etag(http)
    ok = await http.patch(
        "/test/note/strict", json={"text": "informed"}, headers={"If-Match": etag}
    )
    assert ok.status_code == 200
