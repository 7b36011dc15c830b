"""Live updates across processes: a write through one `rapport serve` reaches a stream open
on another, woken through PostgreSQL's LISTEN/NOTIFY (the default there) or Redis pub/sub.

The heartbeat is set far beyond the wait bound, so the item can only arrive by the wake-up.
Needs PostgreSQL (`RAPPORT_TEST_DATABASE_URL`); the Redis case also `RAPPORT_TEST_REDIS_URL`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from contextlib import AsyncExitStack

import pytest

from app.config import Settings
from tests.api_processes import api_process
from tests.conftest import MakeUser, Person
from tests.conversations_support import CONVERSATIONS
from tests.factories import pair
from tests.live_support import WAIT, opened
from tests.sync_support import MEMBER

pytestmark = pytest.mark.slow  # real processes


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("several processes on one database need PostgreSQL")


def h(person: Person) -> dict[str, str]:
    return person.headers(*MEMBER)


async def _crossing(settings: Settings, make_user: MakeUser, **env: str) -> None:
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    env = {"RAPPORT_LIVE_HEARTBEAT_SECONDS": "300", **env}
    async with AsyncExitStack() as stack:
        one, two = [
            await stack.enter_async_context(
                api_process(settings, extra_env=env, request_timeout=WAIT * 2)
            )
            for _ in range(2)
        ]
        await pair(one.http, ann, bo)
        started = await one.http.post(CONVERSATIONS, json={"topic": "us"}, headers=h(ann))
        assert started.status_code == 201, started.text
        cid = started.json()["id"]
        async with opened(two.http, h(bo)) as stream:
            moved = await one.http.post(
                f"{CONVERSATIONS}/{cid}/moves",
                json={"move": "share", "text": "heard across processes"},
                headers=h(ann),
            )
            assert moved.status_code == 200, moved.text
            item = await stream.item()
            assert item["type"] == "conversation.moved"
            assert item["data"]["conversation_id"] == cid
            assert "heard across processes" not in str(item)


async def test_a_write_on_one_process_wakes_a_stream_on_another_through_postgres(
    test_settings: Settings, make_user: MakeUser
) -> None:
    await _crossing(test_settings, make_user)


async def test_the_same_through_redis_when_configured(
    test_settings: Settings, make_user: MakeUser
) -> None:
    url = os.environ.get("RAPPORT_TEST_REDIS_URL")
    if not url:
        pytest.skip("the Redis broker needs Redis (set RAPPORT_TEST_REDIS_URL)")
    await _crossing(test_settings, make_user, RAPPORT_LIVE_BROKER_URL=url)


async def test_stopping_the_server_ends_its_open_streams(
    test_settings: Settings, make_user: MakeUser
) -> None:
    bo = await make_user()
    async with api_process(test_settings, request_timeout=WAIT * 2) as api:
        async with opened(api.http, h(bo)) as stream:
            api.process.send_signal(signal.SIGTERM)
            assert await stream.ended()
        # uvicorn re-raises the signal it stopped on once it has stopped.
        assert await asyncio.wait_for(api.process.wait(), WAIT) in (0, -signal.SIGTERM)
