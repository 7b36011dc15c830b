"""The couple's check-in list, read hot (`services/checkin_pages.py`), answers the very bytes
the ORM and the response model answer for the same rows: every field set and unset, private
and shared, sealed, and erased (the data key destroyed), on every page, for each caller."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, serialize_response
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from app.core import crypto
from app.core.encryption_orm import destroy_data_key
from app.core.pagination import Page, PageQuery, Window, paginate
from app.models.checkins import CheckIn, Visibility
from app.routers.checkins import router
from app.schemas.checkins import CheckInOut
from app.services import checkin_pages
from app.services.checkins import active_couple_of, own_checkins
from app.services.clients import register_client
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair

PATH = "/v1/couples/me/checkins"
CHECKINS = ("checkins:read", "checkins:write")
THIRD_PARTY = "pages-third-party"
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
NOTE = 'Ça va — "mostly" \\ fine\n\ttabs, 😊 and \u2028 a line separator'


def test_the_columns_are_the_models_fields_in_order() -> None:
    assert (*checkin_pages.FIELDS, "editable_until") == tuple(CheckInOut.model_fields)


async def _record(
    client: httpx.AsyncClient, clock: Clock, person: Person, at: datetime, **body: Any
) -> str:
    clock.set(at)
    created = await client.post(
        "/v1/checkins", json={"mood": 3, **body}, headers=person.headers(*CHECKINS)
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _change(client: httpx.AsyncClient, person: Person, checkin_id: str, **body: Any) -> None:
    url = f"/v1/checkins/{checkin_id}"
    current = await client.get(url, headers=person.headers(*CHECKINS))
    changed = await client.patch(
        url, json=body, headers={**person.headers(*CHECKINS), "If-Match": current.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text


async def _orm_page(
    db: AsyncSession, viewer: uuid.UUID, own_private: bool, query: PageQuery
) -> bytes:
    """What the route answered when it returned `Page.of(window, CheckInOut.model_validate)`
    over ORM entities, serialised by FastAPI against its response model."""
    window = await paginate(
        db,
        select(CheckIn).where(
            CheckIn.couple_id == active_couple_of(viewer),
            or_(own_checkins(viewer, own_private), CheckIn.visibility == Visibility.partner),
        ),
        order=(CheckIn.created_at, CheckIn.id),
        params=query,
        descending=True,
    )
    return await _as_the_route_answers(db, window, "checkins_list_couple")


async def _orm_mine(
    db: AsyncSession,
    viewer: uuid.UUID,
    own_private: bool,
    query: PageQuery,
    *bounds: ColumnElement[bool],
) -> bytes:
    """The same for `GET /v1/checkins`, through `checkins.list_mine`'s statement (ORM)."""
    window = await paginate(
        db,
        select(CheckIn).where(own_checkins(viewer, own_private), *bounds),
        order=(CheckIn.created_at, CheckIn.id),
        params=query,
        descending=True,
    )
    return await _as_the_route_answers(db, window, "checkins_list")


async def _as_the_route_answers(db: AsyncSession, window: Window[CheckIn], name: str) -> bytes:
    """The page's JSON as the route's response model writes it; the session let go."""
    route = next(r for r in router.routes if isinstance(r, APIRoute) and r.name == name)
    body = await serialize_response(
        field=route.response_field,
        response_content=Page.of(window, CheckInOut.model_validate),
        dump_json=True,
    )
    db.expunge_all()
    await db.rollback()
    assert isinstance(body, bytes)
    return body


async def _walk(
    client: httpx.AsyncClient,
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
    headers: dict[str, str],
    viewer: uuid.UUID,
    own_private: bool,
    limit: int,
    path: str = PATH,
) -> list[str]:
    """Every page, each compared byte for byte with the ORM's; the ids seen, in order."""
    secret = app.state.settings.secret_key.encode()
    cursor: str | None = None
    seen: list[str] = []
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        query = PageQuery(limit=limit, cursor=cursor, secret=secret, context=path)
        async with sessionmaker() as db:
            if path == PATH:
                expected = await _orm_page(db, viewer, own_private, query)
            else:
                expected = await _orm_mine(db, viewer, own_private, query)
        assert response.content == expected
        page = response.json()
        seen += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


@pytest.fixture
async def third_party(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        await register_client(
            session,
            name="Pages third party",
            redirect_uris=["http://127.0.0.1/oauth/callback"],
            scopes=[*CHECKINS, "checkins:private"],
            confidential=False,
            first_party=False,
            client_id=THIRD_PARTY,
        )


async def test_the_hot_page_is_the_models_page_byte_for_byte(
    client: httpx.AsyncClient,
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: MakeUser,
    clock: Clock,
    third_party: None,
) -> None:
    ann, bo = await make_user(), await make_user()
    before = await _record(client, clock, ann, T0 - timedelta(days=9), note="Before the couple")
    await pair(client, ann, bo)
    full = {
        "emotions": ["joyful.hopeful", "scared.anxious"],
        "needs": ["connection.reassurance"],
        "note": NOTE,
        "request": "A walk together tonight",
    }
    ann_private = await _record(client, clock, ann, T0, **full)  # on the second
    ann_bare = await _record(client, clock, ann, T0 + timedelta(microseconds=1))
    ann_shared = await _record(
        client,
        clock,
        ann,
        T0 + timedelta(hours=1, microseconds=123456),
        visibility="partner",
        **full,
    )
    # Shared, then private again: a private check-in with a `shared_at`, changed since.
    unshared = await _record(
        client, clock, ann, T0 + timedelta(hours=2), visibility="partner", note="Was shared"
    )
    clock.set(T0 + timedelta(hours=3, microseconds=5))
    await _change(client, ann, unshared, visibility="private", note="Private again")
    bo_shared = await _record(
        client, clock, bo, T0 + timedelta(hours=4), visibility="partner", **full
    )
    bo_bare = await _record(client, clock, bo, T0 + timedelta(hours=5), visibility="partner")
    bo_private = await _record(client, clock, bo, T0 + timedelta(hours=6), note="Bo's own")
    # Two at the same instant: the id breaks the tie, across a page boundary too.
    same = [
        await _record(client, clock, bo, T0 + timedelta(hours=7), visibility="partner")
        for _ in range(2)
    ]

    ids = {
        ann.id: {before, ann_private, ann_bare, ann_shared, unshared},
        bo.id: {bo_shared, bo_bare, bo_private, *same},
    }
    shared = {ann_shared, bo_shared, bo_bare, *same}
    ann_sees = {ann_private, ann_bare, ann_shared, unshared, bo_shared, bo_bare, *same}
    ann_sees_shared_only = ann_sees - {ann_private, ann_bare, unshared}
    bo_sees = {ann_shared, bo_shared, bo_bare, bo_private, *same}
    callers = [
        (ann.headers(*CHECKINS), ann.id, True, ann_sees),
        (ann.headers(*CHECKINS, client_id=THIRD_PARTY), ann.id, False, ann_sees_shared_only),
        (
            ann.headers(*CHECKINS, "checkins:private", client_id=THIRD_PARTY),
            ann.id,
            True,
            ann_sees,
        ),
        (bo.headers(*CHECKINS), bo.id, True, bo_sees),
    ]

    async def check_every_caller() -> None:
        for headers, viewer, own_private, expected in callers:
            for limit in (100, 3, 1):
                seen = await _walk(client, app, sessionmaker, headers, viewer, own_private, limit)
                assert set(seen) == expected and len(seen) == len(expected)
                mine = await _walk(
                    client, app, sessionmaker, headers, viewer, own_private, limit, "/v1/checkins"
                )
                assert set(mine) == {i for i in ids[viewer] if own_private or i in shared}

    await check_every_caller()
    secret = app.state.settings.secret_key.encode()
    for dates, bounds in [
        ({"from": "2026-03-01"}, [CheckIn.local_date >= date(2026, 3, 1)]),
        ({"to": "2026-02-28"}, [CheckIn.local_date <= date(2026, 2, 28)]),
        (
            {"from": "2026-03-01", "to": "2026-03-01"},
            [CheckIn.local_date >= date(2026, 3, 1), CheckIn.local_date <= date(2026, 3, 1)],
        ),
    ]:
        bounded = await client.get(
            "/v1/checkins", params={"limit": 2, **dates}, headers=ann.headers(*CHECKINS)
        )
        query = PageQuery(limit=2, secret=secret, context="/v1/checkins")
        async with sessionmaker() as db:
            assert bounded.content == await _orm_mine(db, ann.id, True, query, *bounds)
        assert bounded.json()["data"], dates

    # Erased: Bo's data key destroyed, Bo's notes and requests open as null.
    async with sessionmaker() as session, session.begin():
        await destroy_data_key(session, bo.id)
    crypto.cache.clear()  # cold: the hot path looks the keys up itself
    await check_every_caller()
    listed = await client.get(PATH, headers=ann.headers(*CHECKINS))
    items = {item["id"]: item for item in listed.json()["data"]}
    assert items[bo_shared]["note"] is None and items[bo_shared]["request"] is None
    assert items[ann_shared]["note"] == NOTE


async def test_a_hot_page_with_a_cold_key_cache_looks_each_key_up_once(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: Any
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    for person in (ann, bo, ann, bo):
        created = await client.post(
            "/v1/checkins",
            json={"mood": 3, "note": "n", "request": "r", "visibility": "partner"},
            headers=person.headers(*CHECKINS),
        )
        assert created.status_code == 201
    crypto.cache.clear()
    with count_queries() as cold:
        listed = await client.get(PATH, headers=ann.headers(*CHECKINS))
    assert listed.status_code == 200
    assert [item["note"] for item in listed.json()["data"]] == ["n"] * 4
    with count_queries() as warm:
        assert (await client.get(PATH, headers=ann.headers(*CHECKINS))).status_code == 200
    assert warm.count == 1, warm.statements
    assert cold.count == 3, cold.statements  # the page, and one data key per author
