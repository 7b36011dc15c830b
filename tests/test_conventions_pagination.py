"""Cursor pagination (app.core.pagination) over the events table, through a test router."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.pagination import MAX_LIMIT, Page, PageParams, PageQuery, paginate
from app.db import SessionDep
from app.models import Event, User
from tests.conftest import MakeUser
from tests.derived_app import client_for, derived_app


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    id: uuid.UUID
    type: str
    occurred_at: datetime


router = APIRouter(prefix="/test")


@router.get("/events")
async def list_events(params: PageParams, session: SessionDep) -> Page[EventOut]:
    window = await paginate(session, select(Event), order=(Event.seq,), params=params)
    return Page.of(window, EventOut.model_validate)


@router.get("/events/newest")
async def list_newest_events(params: PageParams, session: SessionDep) -> Page[EventOut]:
    window = await paginate(
        session,
        select(Event).where(Event.type.like("test.%")),
        order=(Event.occurred_at, Event.id),
        params=params,
        descending=True,
    )
    return Page.of(window, EventOut.model_validate)


@pytest.fixture
def test_app(app: FastAPI) -> FastAPI:
    return derived_app(app, router)


@pytest.fixture
async def http(test_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(test_app) as client:
        yield client


async def add_events(
    sessionmaker: async_sessionmaker[AsyncSession],
    count: int,
    *,
    occurred_at: Callable[[int], datetime] | None = None,
) -> list[Event]:
    async with sessionmaker() as session, session.begin():
        # Rows written directly: "test.listed" is a test's own type, not in the event catalog.
        events = [Event(type="test.listed", data={"number": n}) for n in range(count)]
        session.add_all(events)
        await session.flush()
        if occurred_at is not None:
            for n, event in enumerate(events):
                event.occurred_at = occurred_at(n)
    return events


async def walk(http: httpx.AsyncClient, path: str, limit: int) -> list[dict[str, Any]]:
    """Every page of a list, in order; checks the envelope on the way."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await http.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"data", "next_cursor", "has_more"}
        assert page["has_more"] is (page["next_cursor"] is not None)
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


async def test_walking_every_page_sees_each_row_once_in_order(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    events = await add_events(sessionmaker, 25)
    pages = await walk(http, "/test/events", limit=7)
    assert [len(page["data"]) for page in pages] == [7, 7, 7, 4]
    assert [page["has_more"] for page in pages] == [True, True, True, False]
    seen = [item["seq"] for page in pages for item in page["data"]]
    assert seen == sorted(event.seq for event in events)


async def test_an_exact_multiple_of_the_limit_ends_without_an_empty_page(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await add_events(sessionmaker, 6)
    pages = await walk(http, "/test/events", limit=3)
    assert [len(page["data"]) for page in pages] == [3, 3]


async def test_an_empty_list_is_one_empty_page(http: httpx.AsyncClient) -> None:
    response = await http.get("/test/events")
    assert response.json() == {"data": [], "next_cursor": None, "has_more": False}


async def test_default_limit_and_clamping(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await add_events(sessionmaker, MAX_LIMIT + 5)
    default = (await http.get("/test/events")).json()
    assert len(default["data"]) == 20
    assert default["has_more"] is True
    clamped = await http.get("/test/events", params={"limit": 10_000})
    assert clamped.status_code == 200
    assert len(clamped.json()["data"]) == MAX_LIMIT
    rest = await http.get(
        "/test/events", params={"limit": 10_000, "cursor": clamped.json()["next_cursor"]}
    )
    assert len(rest.json()["data"]) == 5
    assert rest.json()["has_more"] is False


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", ""])
async def test_an_invalid_limit_is_a_problem_naming_the_parameter(
    http: httpx.AsyncClient, limit: str
) -> None:
    response = await http.get("/test/events", params={"limit": limit})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {"parameter": "limit"}.items() <= response.json()["errors"][0].items()


def _tamper(cursor: str) -> str:
    payload, _, signature = cursor.partition(".")
    document = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    forged = document.replace(b'"a",', b'"a",1')  # seek somewhere else
    return base64.urlsafe_b64encode(forged).rstrip(b"=").decode() + "." + signature


@pytest.mark.parametrize(
    "make_cursor",
    [
        lambda good: "garbage",
        lambda good: "",
        lambda good: "." * 10,
        lambda good: "%%%.###",
        lambda good: "bm90IGpzb24.AAAA",
        lambda good: good[:-2],
        lambda good: good + "A",
        _tamper,
        lambda good: "x" * 5000,
        lambda good: "é" + good,
    ],
    ids=[
        "garbage",
        "empty",
        "dots",
        "symbols",
        "unsigned",
        "truncated",
        "extended",
        "tampered",
        "overlong",
        "non-ascii",
    ],
)
async def test_a_bad_cursor_is_a_422_problem_never_a_500(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_cursor: Callable[[str], str],
) -> None:
    await add_events(sessionmaker, 3)
    good = (await http.get("/test/events", params={"limit": 1})).json()["next_cursor"]
    response = await http.get("/test/events", params={"cursor": make_cursor(good)})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [error["parameter"] for error in problem["errors"]] == ["cursor"]


async def test_a_cursor_belongs_to_its_list(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await add_events(sessionmaker, 3)
    cursor = (await http.get("/test/events", params={"limit": 1})).json()["next_cursor"]
    elsewhere = await http.get("/test/events/newest", params={"cursor": cursor})
    assert elsewhere.status_code == 422
    assert elsewhere.json()["type"] == "/problems/invalid-cursor"


async def test_ties_on_the_timestamp_are_broken_by_id(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Three distinct timestamps, four events on each: pages must cut through the ties.
    events = await add_events(sessionmaker, 12, occurred_at=lambda n: base + timedelta(hours=n % 3))
    pages = await walk(http, "/test/events/newest", limit=5)
    seen = [uuid.UUID(item["id"]) for page in pages for item in page["data"]]
    expected = sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)
    assert seen == [event.id for event in expected]


async def test_inserts_between_pages_neither_repeat_nor_skip_rows_ascending(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await add_events(sessionmaker, 6)
    first = (await http.get("/test/events", params={"limit": 2})).json()
    after = await add_events(sessionmaker, 3)
    pages = [first, *await _walk_from(http, "/test/events", first["next_cursor"], limit=2)]
    seen = [item["seq"] for page in pages for item in page["data"]]
    assert seen == [event.seq for event in [*before, *after]]


async def test_inserts_between_pages_neither_repeat_nor_skip_rows_newest_first(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    base = datetime.now(UTC) - timedelta(hours=1)
    before = await add_events(sessionmaker, 6, occurred_at=lambda n: base + timedelta(minutes=n))
    first = (await http.get("/test/events/newest", params={"limit": 2})).json()
    await add_events(sessionmaker, 3)  # newer than everything: belongs before the cursor
    pages = [first, *await _walk_from(http, "/test/events/newest", first["next_cursor"], limit=2)]
    seen = [uuid.UUID(item["id"]) for page in pages for item in page["data"]]
    assert seen == [event.id for event in reversed(before)]


async def _walk_from(
    http: httpx.AsyncClient, path: str, cursor: str | None, *, limit: int
) -> list[dict[str, Any]]:
    pages = []
    while cursor is not None:
        page = (await http.get(path, params={"limit": limit, "cursor": cursor})).json()
        pages.append(page)
        cursor = page["next_cursor"]
    return pages


async def test_a_page_costs_one_query_and_no_count(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    count_queries: Callable[[], Any],
) -> None:
    await add_events(sessionmaker, 30)
    cursor = (await http.get("/test/events", params={"limit": 10})).json()["next_cursor"]
    with count_queries() as counter:
        response = await http.get("/test/events", params={"limit": 10, "cursor": cursor})
    assert response.status_code == 200
    assert counter.count == 1, counter.statements
    statement = counter.statements[0].lower()
    assert "count(" not in statement


async def test_services_paginate_without_http_over_any_select(
    make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(5):
        await make_user()
    async with sessionmaker() as session:
        emails: list[str] = []
        params = PageQuery(limit=2, secret=b"service secret", context="export")
        while True:
            window = await paginate(
                session,
                select(User.email_normalized),
                order=(User.email_normalized,),
                params=params,
            )
            emails.extend(window.items)
            if window.next_cursor is None:
                break
            params = PageQuery(
                limit=2, cursor=window.next_cursor, secret=b"service secret", context="export"
            )
        assert emails == sorted(emails)
        assert len(emails) == 5
        by_creation = await paginate(
            session, select(User), order=(User.created_at, User.id), params=PageQuery(limit=3)
        )
        follow = await paginate(
            session,
            select(User),
            order=(User.created_at, User.id),
            params=PageQuery(limit=3, cursor=by_creation.next_cursor),
        )
        assert len({u.id for u in [*by_creation.items, *follow.items]}) == 5


@pytest.mark.slow  # builds a whole schema
def test_the_page_envelope_and_parameters_render_in_openapi(test_app: FastAPI) -> None:
    schema = test_app.openapi()
    page = schema["components"]["schemas"]["EventPage"]
    assert set(page["required"]) == {"data", "next_cursor", "has_more"}
    assert page["properties"]["data"]["items"] == {"$ref": "#/components/schemas/EventOut"}
    parameters = {p["name"]: p for p in schema["paths"]["/test/events"]["get"]["parameters"]}
    assert parameters["limit"]["schema"]["default"] == 20
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["cursor"]["required"] is False
