"""Idempotency-Key under concurrency and failure: duplicates in flight, abandoned claims,
endpoints that fail or crash (app.core.idempotency, on test routes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.events import append_event
from app.core.idempotency_store import (
    CLAIM_LEASE,
    Claim,
    IdempotencyStore,
    KeyedRequest,
)
from app.db import SessionDep
from app.models import Event, IdempotencyRecord
from app.models.base import utcnow
from tests.conftest import DEFAULT_PASSWORD, MakeUser
from tests.derived_app import client_for, derived_app
from tests.idempotency_support import count, keyed

SIGN_UP = {"email": "ann@example.org", "password": "correct horse battery", "display_name": "Ann"}
NEW_PASSWORD = {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase"}


# --- in flight, crashes and secrets, on test routes -----------------------------------------


class SlowRoute:
    """A POST that waits for the test to let it finish."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.proceed = asyncio.Event()
        self.calls = 0
        self.router = APIRouter()
        self.router.add_api_route("/test/slow", self.handle, methods=["POST"], status_code=201)

    async def handle(self, body: dict[str, int]) -> dict[str, int]:
        self.calls += 1
        self.entered.set()
        await self.proceed.wait()
        return {"calls": self.calls, **body}


@pytest.fixture
def slow() -> SlowRoute:
    return SlowRoute()


@pytest.fixture
async def slow_client(app: FastAPI, slow: SlowRoute) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(derived_app(app, slow.router)) as http:
        yield http


async def test_a_duplicate_while_the_first_is_in_flight_is_a_409(
    slow_client: httpx.AsyncClient, slow: SlowRoute
) -> None:
    first = asyncio.create_task(slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k")))
    await asyncio.wait_for(slow.entered.wait(), timeout=10)

    duplicate = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    assert duplicate.json()["type"] == "/problems/idempotency-key-in-flight"
    assert duplicate.headers["retry-after"] == "1"
    different = await slow_client.post("/test/slow", json={"n": 2}, headers=keyed("k"))
    assert different.status_code == 422

    slow.proceed.set()
    done = await asyncio.wait_for(first, timeout=10)
    assert done.status_code == 201
    replay = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == done.json() == {"calls": 1, "n": 1}
    assert slow.calls == 1


async def test_concurrent_duplicates_let_exactly_one_through(
    slow_client: httpx.AsyncClient, slow: SlowRoute
) -> None:
    slow.proceed.set()  # each attempt finishes at once: the duplicates race the first
    responses = await asyncio.gather(
        *(slow_client.post("/test/slow", json={"n": 1}, headers=keyed("race")) for _ in range(6))
    )
    assert slow.calls == 1
    ran = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"] == "/problems/idempotency-key-in-flight"
            assert response.headers["retry-after"] == "1"
        else:
            assert response.status_code == 201
            assert response.json() == {"calls": 1, "n": 1}


def store_for(app: FastAPI) -> IdempotencyStore:
    return IdempotencyStore(
        app.state.sessionmaker, app.state.reading_sessionmaker, ttl=timedelta(days=1)
    )


async def test_a_claim_abandoned_by_a_dead_request_is_taken_over(
    app: FastAPI,
    slow_client: httpx.AsyncClient,
    slow: SlowRoute,
    sessionmaker: async_sessionmaker[AsyncSession],
    is_postgres: bool,
) -> None:
    store = store_for(app)
    request = KeyedRequest(caller="anonymous", key="k", fingerprint="another request")
    async with sessionmaker() as holder:  # a request that claimed the key and is running
        claimed = await store.claim(holder, request)
        assert isinstance(claimed, Claim)
        blocked = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
        assert blocked.status_code == 422  # another request's live claim
        await holder.rollback()  # its process dies: its transaction ends, nothing committed
    if not is_postgres:  # SQLite cannot tell a dead claim from a slow one before its lease ends
        blocked = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
        assert blocked.status_code == 422
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(IdempotencyRecord).values(created_at=utcnow() - CLAIM_LEASE)
            )
    slow.proceed.set()
    taken_over = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
    assert taken_over.status_code == 201
    assert slow.calls == 1
    assert await count(sessionmaker, IdempotencyRecord) == 1


class WritingRoute:
    """A POST that waits for the test, then records an event in the request's session."""

    def __init__(self, user_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.entered = asyncio.Event()
        self.proceed = asyncio.Event()
        self.router = APIRouter()
        self.router.add_api_route("/test/write", self.handle, methods=["POST"], status_code=201)

    async def handle(self, session: SessionDep) -> dict[str, str]:
        self.entered.set()
        await self.proceed.wait()
        event = await append_event(session, "user.created", user_id=self.user_id)
        await session.flush()
        return {"event": str(event.id)}


async def test_a_request_whose_claim_was_taken_over_keeps_no_change(
    app: FastAPI, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    before = await count(sessionmaker, Event)
    route = WritingRoute(ann.id)
    async with client_for(derived_app(app, route.router)) as http:
        late = asyncio.create_task(http.post("/test/write", headers=keyed("k")))
        await asyncio.wait_for(route.entered.wait(), timeout=10)
        # Its claim outlived its lease (SQLite) and a retry took the key over.
        async with sessionmaker() as session, session.begin():
            await session.execute(update(IdempotencyRecord).values(id=uuid.uuid4()))
        route.proceed.set()
        response = await asyncio.wait_for(late, timeout=10)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/idempotency-key-in-flight"
    assert await count(sessionmaker, Event) == before
    async with sessionmaker() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.completed_at is None  # the retry's claim, untouched


async def test_an_endpoint_that_fails_keeps_no_change_and_frees_the_key(
    app: FastAPI, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    before = await count(sessionmaker, Event)
    route = WritingRoute(ann.id)
    route.proceed.set()

    async def break_after_writing(session: SessionDep) -> None:
        await route.handle(session)
        raise RuntimeError("the endpoint breaks after its change")

    route.router.add_api_route("/test/break", break_after_writing, methods=["POST"])
    async with client_for(derived_app(app, route.router)) as http:
        broken = await http.post("/test/break", headers=keyed("k"))
        assert broken.status_code == 500
        assert await count(sessionmaker, Event) == before
        assert await count(sessionmaker, IdempotencyRecord) == 0
        written = await http.post("/test/write", headers=keyed("k2"))
        assert written.status_code == 201
    assert await count(sessionmaker, Event) == before + 1


class FlakyRoute:
    """Fails the first time (crash or 503), succeeds afterwards."""

    def __init__(self) -> None:
        self.calls = 0
        self.router = APIRouter()
        self.router.add_api_route("/test/crash", self.crash, methods=["POST"], status_code=201)
        self.router.add_api_route("/test/busy", self.busy, methods=["POST"], status_code=201)
        self.router.add_api_route("/test/secret", self.secret, methods=["POST"], status_code=201)

    async def crash(self) -> dict[str, int]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the first attempt breaks")
        return {"calls": self.calls}

    async def busy(self) -> Any:
        self.calls += 1
        if self.calls == 1:
            return JSONResponse({"busy": True}, status_code=503)
        return {"calls": self.calls}

    async def secret(self) -> JSONResponse:
        self.calls += 1
        return JSONResponse(
            {"secret": f"whsec_{self.calls}"},
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )


@pytest.fixture
def flaky() -> FlakyRoute:
    return FlakyRoute()


@pytest.fixture
async def flaky_client(app: FastAPI, flaky: FlakyRoute) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(derived_app(app, flaky.router)) as http:
        yield http


@pytest.mark.parametrize("path", ["/test/crash", "/test/busy"])
async def test_a_server_error_releases_the_key_for_a_retry(
    flaky_client: httpx.AsyncClient,
    flaky: FlakyRoute,
    sessionmaker: async_sessionmaker[AsyncSession],
    path: str,
) -> None:
    failed = await flaky_client.post(path, headers=keyed("k"))
    assert failed.status_code >= 500
    assert await count(sessionmaker, IdempotencyRecord) == 0
    retried = await flaky_client.post(path, headers=keyed("k"))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    replayed = await flaky_client.post(path, headers=keyed("k"))
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == retried.json() == {"calls": 2}


async def test_a_response_carrying_a_secret_is_not_stored_nor_replayed(
    flaky_client: httpx.AsyncClient,
    flaky: FlakyRoute,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = await flaky_client.post("/test/secret", headers=keyed("k"))
    assert first.json() == {"secret": "whsec_1"}
    async with sessionmaker() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.response_body is None
    assert record.response_status == 201
    again = await flaky_client.post("/test/secret", headers=keyed("k"))
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/idempotent-response-withheld"
    assert "whsec_" not in again.text
    assert flaky.calls == 1
