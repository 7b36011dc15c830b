"""Live updates (`GET /v1/sync/stream`): two real HTTP clients streaming from the app under
uvicorn on 127.0.0.1, on either engine.

The server's heartbeat is set far beyond the tests' wait bound, so an item that arrives came
through the wake-up path (`app.core.live_broker`), not a periodic re-read; one test sets it
short and turns wake-ups off to show the re-read alone catches up. Absence is shown without
waiting: after what must not arrive, a sentinel that must arrive comes next.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.core.events import EventPosition
from app.main import create_app
from app.models.base import utcnow
from app.services import sync_cursor
from tests.conftest import PUBLIC_URL, MakeUser, Person
from tests.conversations_support import CONVERSATIONS, THERAPIST, grant, register_therapist
from tests.factories import pair
from tests.live_support import STREAM, WAIT, EventStream, opened, refused
from tests.sync_support import MEMBER, checkin
from tests.uvicorn_support import serving


@dataclass
class Server:
    url: str
    app: FastAPI

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=WAIT)


async def _serve(test_settings: Settings, **settings: Any) -> AsyncIterator[Server]:
    # The tests' public URL: the tokens the `Person` fixture mints are for it.
    changed = test_settings.model_copy(update={"public_url": PUBLIC_URL, **settings})
    async with serving(lambda _url: create_app(changed)) as (url, served):
        await served.state.live_broker.wait_subscribed()
        yield Server(url, served)


@pytest.fixture
async def server(app: FastAPI, test_settings: Settings) -> AsyncIterator[Server]:
    async for running in _serve(test_settings, live_heartbeat_seconds=300):
        yield running


def h(person: Person, *scopes: str, client_id: str = "rapport-mobile") -> dict[str, str]:
    return person.headers(*(scopes or MEMBER), client_id=client_id)


async def _move(http: httpx.AsyncClient, person: Person, cid: str, move: str) -> None:
    body = {"move": move, "text": f"{move} by {person.user.display_name}"}
    if move in ("confirm", "pass_floor", "pause", "resume", "end"):
        del body["text"]
    response = await http.post(f"{CONVERSATIONS}/{cid}/moves", json=body, headers=h(person))
    assert response.status_code == 200, response.text


async def _rename(http: httpx.AsyncClient, person: Person, name: str) -> None:
    """A sentinel: `user.updated`, on the person's own feed (scope `profile`)."""
    response = await http.patch("/v1/me", json={"display_name": name}, headers=h(person))
    assert response.status_code == 200, response.text


async def _couple(make_user: MakeUser, server: Server) -> tuple[Person, Person, str]:
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    async with server.client() as http:
        await pair(http, ann, bo)
        started = await http.post(CONVERSATIONS, json={"topic": "us"}, headers=h(ann))
        assert started.status_code == 201, started.text
    return ann, bo, str(started.json()["id"])


async def test_a_partners_turn_reaches_the_other_partners_stream(
    server: Server, make_user: MakeUser
) -> None:
    ann, bo, cid = await _couple(make_user, server)
    async with (
        server.client() as ann_http,
        server.client() as bo_http,
        opened(ann_http, h(ann)) as ann_stream,
        opened(bo_http, h(bo)) as bo_stream,
    ):
        await _move(ann_http, ann, cid, "share")
        for stream in (ann_stream, bo_stream):  # both partners' devices see the turn
            item = await stream.item()
            assert item["type"] == "conversation.moved"
            assert item["data"]["conversation_id"] == cid
            assert "share by Ann" not in str(item)  # events are thin
        await _move(bo_http, bo, cid, "paraphrase")
        for stream in (ann_stream, bo_stream):
            assert (await stream.item())["type"] == "conversation.moved"

        private = await checkin(ann_http, ann, "private", "only mine")
        shared = await checkin(ann_http, ann, "partner", "for Bo")
        item = await bo_stream.item()
        assert item["type"].startswith("checkin.") and item["data"]["checkin_id"] == shared
        assert item["resource"]["note"] == "for Bo"
        await _move(ann_http, ann, cid, "confirm")  # the sentinel: nothing came between
        assert (await bo_stream.item())["type"] == "conversation.moved"
        assert private not in str(bo_stream.comments)
        # The stream's item is the feed's item, byte for byte the same JSON.
        feed = await bo_http.get("/v1/sync", headers=h(bo))
        assert item in feed.json()["data"]


async def test_an_outsider_and_an_app_without_consent_or_scope_see_nothing(
    app: FastAPI, server: Server, make_user: MakeUser
) -> None:
    ann, bo, cid = await _couple(make_user, server)
    outsider = await make_user(display_name="Cy")
    await register_therapist(app)
    await grant(app, bo, "conversations:read", "profile")  # Bo, not Ann, allows the app
    third_party = h(bo, "conversations:read", "profile", client_id=THERAPIST)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(server.client())
        watchers: list[tuple[Person, EventStream]] = []
        for person, headers in (
            (outsider, h(outsider)),
            (bo, third_party),
            (bo, h(bo, "profile")),  # Rapport's own app, without the conversation scope
        ):
            watchers.append((person, await stack.enter_async_context(opened(http, headers))))
        await _move(http, ann, cid, "share")
        await checkin(http, ann, "partner", "for Bo")
        for number, (person, stream) in enumerate(watchers):
            await _rename(http, person, f"renamed {number}")
            item = await stream.item()  # the sentinel comes first: nothing of the couple
            assert item["type"] == "user.updated", item
            assert item["data"]["user_id"] == str(person.id)


async def test_an_ex_partners_stream_sees_the_end_and_nothing_after(
    server: Server, make_user: MakeUser
) -> None:
    ann, bo, _cid = await _couple(make_user, server)
    cy = await make_user(display_name="Cy")
    async with server.client() as http, opened(http, h(bo)) as stream:
        left = await http.post("/v1/couples/me/leave", headers=h(bo))
        assert left.status_code in (200, 204), left.text
        ended = [item["type"] for item in await stream.items(1)]
        assert ended == ["couple.ended"]
        await pair(http, ann, cy)
        started = await http.post(CONVERSATIONS, json={"topic": "new"}, headers=h(ann))
        assert started.status_code == 201, started.text
        await checkin(http, ann, "partner", "for Cy")
        await _rename(http, bo, "Bo, alone")
        assert (await stream.item())["type"] == "user.updated"  # the sentinel came first


async def test_revoking_the_token_ends_the_stream(
    server: Server, make_user: MakeUser, first_party_client: object
) -> None:
    ann, bo, cid = await _couple(make_user, server)
    token = bo.token(*MEMBER)
    async with server.client() as http, opened(http, {"Authorization": f"Bearer {token}"}) as s:
        revoked = await http.post(
            "/oauth/revoke", data={"token": token, "client_id": "rapport-mobile"}
        )
        assert revoked.status_code == 200, revoked.text
        assert await s.ended()
        await _move(http, ann, cid, "share")
        gone = await refused(http, {"Authorization": f"Bearer {token}"})
        assert gone.status_code == 401


async def test_disconnecting_the_app_ends_its_stream(
    app: FastAPI, server: Server, make_user: MakeUser
) -> None:
    _ann, bo, _cid = await _couple(make_user, server)
    await register_therapist(app)
    await grant(app, bo, "conversations:read")
    headers = h(bo, "conversations:read", client_id=THERAPIST)
    async with server.client() as http, opened(http, headers) as stream:
        left = await http.delete(f"/v1/me/connected-apps/{THERAPIST}", headers=h(bo))
        assert left.status_code == 204, left.text
        assert await stream.ended()


async def test_reconnecting_with_last_event_id_sends_exactly_what_was_missed(
    server: Server, make_user: MakeUser
) -> None:
    ann, bo, cid = await _couple(make_user, server)
    async with server.client() as http:
        async with opened(http, h(bo)) as stream:
            await _move(http, ann, cid, "share")
            first = await stream.item()
            resume = stream.last_id
        assert resume is not None
        await _move(http, bo, cid, "paraphrase")  # missed while away
        await _move(http, ann, cid, "confirm")
        async with opened(http, h(bo) | {"Last-Event-ID": resume}) as stream:
            missed = await stream.items(2)
            await _move(http, ann, cid, "share")
            latest = await stream.item()
        feed = (await http.get("/v1/sync", headers=h(bo), params={"cursor": resume})).json()
    assert [item["id"] for item in missed] == [item["id"] for item in feed["data"][:2]]
    assert len({first["id"], *(item["id"] for item in missed), latest["id"]}) == 4
    assert latest["id"] == feed["data"][2]["id"] and len(feed["data"]) == 3


async def test_a_stream_starts_now_or_after_a_feed_cursor(
    server: Server, make_user: MakeUser
) -> None:
    ann, bo, cid = await _couple(make_user, server)
    async with server.client() as http:
        page = (await http.get("/v1/sync", headers=h(bo))).json()
        await _move(http, ann, cid, "share")
        async with opened(http, h(bo), cursor=page["next_cursor"]) as stream:
            assert (await stream.item())["type"] == "conversation.moved"  # after the cursor
        async with opened(http, h(bo)) as stream:  # now: the move is history
            await _rename(http, bo, "Bo again")
            assert (await stream.item())["type"] == "user.updated"


async def test_bad_cursors_are_the_feeds_problems_before_any_stream(
    app: FastAPI, server: Server, make_user: MakeUser
) -> None:
    bo = await make_user()
    old = sync_cursor.encode_cursor(
        app.state.settings.secret_key.encode(),
        bo.id,
        sync_cursor.SyncCursor(EventPosition(0, 1), issued_at=utcnow() - timedelta(days=400)),
    )
    async with server.client() as http:
        for given, status in (("tampered.cursor", 422), (old, 410)):
            feed = await http.get("/v1/sync", headers=h(bo), params={"cursor": given})
            for attempt in (
                await refused(http, h(bo) | {"Last-Event-ID": given}),
                await refused(http, h(bo), cursor=given),
            ):
                assert attempt.status_code == feed.status_code == status
                assert attempt.json()["type"] == feed.json()["type"]
        too_long = await refused(http, h(bo) | {"Last-Event-ID": "x" * 2000})
        assert too_long.status_code == 422
        assert too_long.json()["type"] != feed.json()["type"]  # the header's own validation
        assert (await refused(http, {})).status_code == 401
        assert (await refused(http, bo.headers("admin:content"))).status_code == 403


async def test_a_person_holds_a_few_streams_at_once(server: Server, make_user: MakeUser) -> None:
    bo = await make_user()
    cap = server.app.state.settings.live_streams_per_person
    async with server.client() as http, AsyncExitStack() as stack:
        for _ in range(cap):
            await stack.enter_async_context(opened(http, h(bo)))
        over = await refused(http, h(bo))
        assert over.status_code == 429
        assert over.json()["type"] == "/problems/too-many-live-streams"
        assert "Retry-After" in over.headers
    async with server.client() as http, opened(http, h(bo)):
        pass  # closed streams gave their places back


async def test_the_heartbeat_rereads_when_a_wake_is_lost(
    app: FastAPI, test_settings: Settings, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    async for server in _serve(test_settings, live_heartbeat_seconds=0.2):
        ann, bo, cid = await _couple(make_user, server)
        async with server.client() as http, opened(http, h(bo)) as stream:
            for broker in (app.state.live_broker, server.app.state.live_broker):
                monkeypatch.setattr(broker, "announce", lambda keys: None)  # every wake lost
            await _move(http, ann, cid, "share")
            assert (await stream.item())["type"] == "conversation.moved"
            while "heartbeat" not in stream.comments:
                await stream.next()


async def test_the_stream_is_published_as_an_event_stream(app: FastAPI) -> None:
    operation = app.openapi()["paths"][STREAM]["get"]
    content = operation["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    assert content["text/event-stream"]["schema"]["type"] == "string"  # OpenAPI 3.1
    item = content["text/event-stream"]["x-itemSchema"]["properties"]["data"]
    assert item["contentMediaType"] == "application/json"
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"Last-Event-ID", "cursor"} <= names
    assert {"401", "403", "410", "422", "429"} <= set(operation["responses"])


def test_the_broker_follows_the_database_unless_told() -> None:
    sqlite = Settings(database_url="sqlite+aiosqlite:///x.db", _env_file=None)
    assert sqlite.live_broker == "memory://"
    postgres = Settings(
        database_url="postgresql+asyncpg://rapport:pw@db:5432/rapport", _env_file=None
    )
    assert postgres.live_broker == "postgresql://rapport:pw@db:5432/rapport"
    told = Settings(live_broker_url="redis://cache:6379/3", _env_file=None)
    assert told.live_broker == "redis://cache:6379/3"


async def test_a_failed_publish_never_fails_the_request(
    server: Server,
    make_user: MakeUser,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ann, bo, cid = await _couple(make_user, server)
    broker = server.app.state.live_broker
    reconnected = asyncio.Event()
    reconnect = broker._reconnect

    async def broken(channel: str, message: str) -> None:
        raise ConnectionError("the broker is gone")

    async def reconnecting() -> None:
        await reconnect()
        reconnected.set()

    monkeypatch.setattr(broker, "_reconnect", reconnecting)
    async with server.client() as http, opened(http, h(bo)) as stream:
        monkeypatch.setattr(broker._broadcast, "publish", broken)
        with caplog.at_level("WARNING", logger="rapport.live"):
            await _move(http, ann, cid, "share")  # answered 200 all the same
            await asyncio.wait_for(reconnected.wait(), WAIT)  # a new connection
        assert "live wake-up not published" in caplog.text
        await _move(http, bo, cid, "paraphrase")  # its wake-up brings both moves
        assert [item["type"] for item in await stream.items(2)] == ["conversation.moved"] * 2


async def test_opening_streams_counts_against_the_rate_limits(
    app: FastAPI, test_settings: Settings, make_user: MakeUser
) -> None:
    bo = await make_user()
    async for server in _serve(test_settings, rate_limit_per_token="2/minute"):
        async with server.client() as http:
            for _ in range(2):
                async with opened(http, h(bo)):
                    pass
            limited = await refused(http, h(bo))
        assert limited.status_code == 429
        assert limited.json()["type"] == "/problems/rate-limited"
