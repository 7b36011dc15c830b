"""A request holds at most one pooled connection at a time.

A request that waits on the pool for a second connection while it holds a first can wait for
ever once every connection is held that way: with the pool's 30 and no overflow, 30 such
requests at once would stall the process until the pool's timeout. Counted from the pool's own
events, in the request's context (the ASGI transport runs each request in the test's task), on
the paths that read through a session and a hot read in one request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.services.clients import register_client
from tests.conftest import MakeUser
from tests.factories import DAILY_SCOPES, pair, publish_library

THIRD_PARTY = "connections-third-party"
CHECKINS = ("checkins:read", "checkins:write", "checkins:private")


class _Held:
    def __init__(self) -> None:
        self.now = 0
        self.most = 0


# Per request rather than per task: SQLAlchemy closes an `async with engine.connect()` in a
# shielded task of its own, which copies the request's context (and so this object).
_HELD: ContextVar[_Held | None] = ContextVar("held_connections", default=None)


class HeldConnections:
    """The most connections held at once by the code run since `reset` in this context
    (not by the app's background tasks)."""

    def reset(self) -> None:
        _HELD.set(_Held())

    @property
    def most(self) -> int:
        held = _HELD.get()
        return 0 if held is None else held.most

    def checked_out(self, *_: Any) -> None:
        if (held := _HELD.get()) is not None:
            held.now += 1
            held.most = max(held.most, held.now)

    def checked_in(self, *_: Any) -> None:
        if (held := _HELD.get()) is not None:
            held.now -= 1


@pytest.fixture
def held(engine: AsyncEngine) -> Iterator[HeldConnections]:
    counter = HeldConnections()
    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", counter.checked_out)
    event.listen(pool, "checkin", counter.checked_in)
    yield counter
    event.remove(pool, "checkout", counter.checked_out)
    event.remove(pool, "checkin", counter.checked_in)


async def test_the_first_look_of_the_day_holds_one_connection(
    client: httpx.AsyncClient, app: FastAPI, make_user: MakeUser, held: HeldConnections
) -> None:
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    for look in ("first", "second"):
        held.reset()
        response = await client.get(
            "/v1/couples/me/prompts/today", headers=ann.headers(*DAILY_SCOPES)
        )
        assert response.status_code == 200, response.text
        assert held.most == 1, look


async def test_a_logged_read_of_checkins_holds_one_connection(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    held: HeldConnections,
) -> None:
    async with sessionmaker() as session, session.begin():
        await register_client(
            session,
            name="Connections third party",
            redirect_uris=["http://127.0.0.1/oauth/callback"],
            scopes=list(CHECKINS),
            confidential=False,
            first_party=False,
            client_id=THIRD_PARTY,
        )
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    written = await client.post(
        "/v1/checkins", json={"mood": 4, "note": "A good day"}, headers=ann.headers(*CHECKINS)
    )
    assert written.status_code == 201, written.text
    third_party = ann.headers(*CHECKINS, client_id=THIRD_PARTY)
    for path in ("/v1/checkins", "/v1/couples/me/checkins"):
        held.reset()
        response = await client.get(path, headers=third_party)
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["data"]] == [written.json()["id"]]
        assert held.most == 1, path
