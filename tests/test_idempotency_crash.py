"""An idempotent POST whose server process dies, retried on a new process sharing the database.

The fault hook (`RAPPORT_TEST_IDEMPOTENCY_CRASH`) ends the process with `os._exit` either after
the change and its stored outcome are written but before they commit, or after the commit but
before the response. Either way the retry acts once in all: it replays the stored outcome, or
finds no trace of the first attempt and runs it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Environment, Settings
from app.core.idempotency import CRASH_EXIT_STATUS
from app.models import CheckIn, IdempotencyRecord, User
from tests.api_processes import ApiProcess
from tests.api_processes import api_process as serve
from tests.conftest import MakeUser

pytestmark = pytest.mark.slow

SIGN_UP = {"email": "ann@example.org", "password": "correct horse battery", "display_name": "Ann"}
CHECKINS = ("checkins:read", "checkins:write")


@asynccontextmanager
async def api_process(settings: Settings, crash: str | None = None) -> AsyncIterator[ApiProcess]:
    """`rapport serve`, dying on the way when `crash` says where."""
    extra = {"RAPPORT_TEST_IDEMPOTENCY_CRASH": crash} if crash else {}
    async with serve(settings, extra_env=extra, request_timeout=30) as api:
        yield api


async def post_and_die(
    settings: Settings, crash: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    """POST through a process that dies on the way; the client never gets an answer."""
    async with api_process(settings, crash=crash) as doomed:
        with pytest.raises(httpx.TransportError):
            await doomed.http.post(path, json=body, headers=headers)
        assert await asyncio.wait_for(doomed.process.wait(), 30) == CRASH_EXIT_STATUS


async def retry(http: httpx.AsyncClient, path: str, body: Any, headers: Any) -> httpx.Response:
    """POST until the key is no longer in flight, as a client honouring Retry-After does."""
    deadline = time.monotonic() + 60
    while True:
        response = await http.post(path, json=body, headers=headers)
        if response.status_code != 409 or response.json()["type"] != (
            "/problems/idempotency-key-in-flight"
        ):
            return response
        assert time.monotonic() < deadline, "the key stayed in flight"
        await asyncio.sleep(float(response.headers["retry-after"]))


async def count(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_crash_after_the_commit_is_answered_by_the_replay_on_a_new_process(
    test_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "sign-up-crash"}
    await post_and_die(test_settings, "after_commit", "/v1/users", SIGN_UP, headers)
    assert await count(sessionmaker, User) == 1
    async with api_process(test_settings) as fresh:
        replay = await fresh.http.post("/v1/users", json=SIGN_UP, headers=headers)
    assert replay.status_code == 201, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    async with sessionmaker() as session:
        user = await session.scalar(select(User))
    assert user is not None
    assert replay.json()["id"] == str(user.id)
    assert replay.headers["location"] == "/v1/me"
    assert await count(sessionmaker, User) == 1


async def test_private_writing_committed_before_a_crash_is_pointed_at_not_repeated(
    test_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: MakeUser,
    first_party_client: object,
) -> None:
    ann = await make_user()
    headers = {"Idempotency-Key": "checkin-crash", **ann.headers(*CHECKINS)}
    await post_and_die(test_settings, "after_commit", "/v1/checkins", {"mood": 3}, headers)
    async with api_process(test_settings) as fresh:
        again = await retry(fresh.http, "/v1/checkins", {"mood": 3}, headers)
        assert again.status_code == 409, again.text
        assert again.json()["type"] == "/problems/idempotent-response-withheld"
        async with sessionmaker() as session:
            checkins = list(await session.scalars(select(CheckIn)))
        assert len(checkins) == 1
        assert again.headers["location"] == f"/v1/checkins/{checkins[0].id}"
        # Bo, with a key of the same spelling, is another caller: his request runs.
        bo = await make_user()
        bos = await fresh.http.post(
            "/v1/checkins",
            json={"mood": 3},
            headers={"Idempotency-Key": "checkin-crash", **bo.headers(*CHECKINS)},
        )
        assert bos.status_code == 201
    assert await count(sessionmaker, CheckIn) == 2


async def test_a_crash_before_the_commit_leaves_no_trace_and_the_retry_creates_one(
    test_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: MakeUser,
    first_party_client: object,
) -> None:
    ann = await make_user()
    headers = {"Idempotency-Key": "checkin-lost", **ann.headers(*CHECKINS)}
    await post_and_die(test_settings, "before_commit", "/v1/checkins", {"mood": 2}, headers)
    assert await count(sessionmaker, CheckIn) == 0
    async with api_process(test_settings) as fresh:
        created = await retry(fresh.http, "/v1/checkins", {"mood": 2}, headers)
        assert created.status_code == 201, created.text
        assert "idempotent-replayed" not in created.headers
        assert created.json()["mood"] == 2
        withheld = await fresh.http.post("/v1/checkins", json={"mood": 2}, headers=headers)
        assert withheld.status_code == 409
        assert withheld.json()["type"] == "/problems/idempotent-response-withheld"
    assert await count(sessionmaker, CheckIn) == 1
    assert await count(sessionmaker, IdempotencyRecord) == 1


async def test_a_stored_response_is_replayed_by_another_process(
    test_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "sign-up-elsewhere"}
    async with AsyncExitStack() as stack:
        a, b = await asyncio.gather(  # started side by side: each takes seconds to start
            stack.enter_async_context(api_process(test_settings)),
            stack.enter_async_context(api_process(test_settings)),
        )
        first = await a.http.post("/v1/users", json=SIGN_UP, headers=headers)
        assert first.status_code == 201, first.text
        again = await b.http.post("/v1/users", json=SIGN_UP, headers=headers)
        other = await b.http.post(
            "/v1/users", json={**SIGN_UP, "email": "bo@example.org"}, headers=headers
        )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert other.status_code == 422
    assert await count(sessionmaker, User) == 1


def test_the_fault_hook_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="RAPPORT_TEST_IDEMPOTENCY_CRASH"):
        Settings(
            environment=Environment.production,
            secret_key="a production secret of some length",
            public_url="https://rapport.example",
            test_idempotency_crash="after_commit",
            _env_file=None,
        )
