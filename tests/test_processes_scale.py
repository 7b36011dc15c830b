"""Several processes on one PostgreSQL: `rapport serve --workers 2` and two `rapport worker`
processes deliver every event written through the API exactly once, and the general rate
limits are one budget across API processes, shared through Redis.

Needs PostgreSQL (`RAPPORT_TEST_DATABASE_URL`) and Redis (`RAPPORT_TEST_REDIS_URL`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models.events import Event
from app.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.api_processes import RAPPORT, free_port
from tests.api_processes import api_process as serve
from tests.conftest import PUBLIC_URL, MakeUser
from tests.webhooks_support import LOOPBACK, Partner, Receiver, grant, running

pytestmark = pytest.mark.slow  # real processes

WRITES = 120
BUDGET = 40
DAILY = 100_000


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("several processes on one database need PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("RAPPORT_TEST_REDIS_URL")
    if not url:
        pytest.skip("shared rate limits need Redis (set RAPPORT_TEST_REDIS_URL)")
    return url


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_DATABASE_URL": settings.database_url,
        "RAPPORT_PUBLIC_URL": PUBLIC_URL,
        "RAPPORT_ENVIRONMENT": "test",
        "RAPPORT_SEED_ON_START": "false",
        "RAPPORT_RUN_WORKER_IN_PROCESS": "false",
        "RAPPORT_WEBHOOK_ALLOW_HTTP": "true",
        "RAPPORT_WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_LOG_JSON": "false",
        **extra,
    }


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


@asynccontextmanager
async def started(*args: str, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(RAPPORT, *args, env=env)
    try:
        yield process
    finally:
        await _stop(process)


async def _ready(http: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 120  # a loaded machine starts processes slowly
    while True:
        assert process.returncode is None, f"the API exited with {process.returncode}"
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not start"
        await asyncio.sleep(0.1)


async def _until(condition: object, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


def _remaining(response: httpx.Response, policy: str) -> int:
    for part in response.headers["ratelimit"].split(","):
        name, *fields = part.strip().split(";")
        if name.strip('"') == policy:
            return int(dict(f.split("=") for f in fields)["r"])
    raise AssertionError(f"no {policy} limit in {response.headers['ratelimit']}")


async def test_two_api_workers_and_two_delivery_workers_deliver_each_write_exactly_once(
    test_settings: Settings,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis_url: str,
) -> None:
    people = [await make_user() for _ in range(4)]
    for person in people:
        await grant(sessionmaker, person.id, partner.client_id, "profile")
    receiver = Receiver()
    port = free_port()
    env = _env(
        test_settings,
        RAPPORT_REDIS_URL=redis_url,
        RAPPORT_RATE_LIMIT_PER_TOKEN=f"{DAILY}/day",
        RAPPORT_RATE_LIMIT_PER_IP="100000/day",
    )
    async with running(receiver), AsyncExitStack() as stack:
        async with sessionmaker() as session, session.begin():
            session.add(
                WebhookEndpoint(
                    client_id=partner.client_id, url=receiver.url, secret="whsec_" + "A" * 44
                )
            )
        api = await stack.enter_async_context(
            started("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2", env=env)
        )
        for _ in range(2):
            await stack.enter_async_context(
                started("worker", "--poll-interval", "0.05", "--batch-size", "20", env=env)
            )
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await _ready(http, api)

        async def write(n: int) -> None:
            person = people[n % len(people)]
            # A connection per request, so the kernel hands them to either API worker.
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                response = await http.patch(
                    "/v1/me",
                    json={"display_name": f"Name {n}"},
                    headers=person.headers("profile"),
                )
            assert response.status_code == 200, response.text

        await asyncio.gather(*(write(n) for n in range(WRITES)))
        # One budget per token across both API workers: every write was counted in it.
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for person in people:
                response = await http.get("/v1/me", headers=person.headers("profile"))
                assert _remaining(response, "token") == DAILY - WRITES // len(people) - 1

        async def all_succeeded() -> bool:
            async with sessionmaker() as session:
                done = await session.scalar(
                    select(func.count()).where(WebhookDelivery.status == DeliveryStatus.succeeded)
                )
            return done == WRITES

        await _until(all_succeeded, 120)
        await asyncio.sleep(1)  # anything sent twice arrives by now
    async with sessionmaker() as session:
        events = set(
            await session.scalars(
                select(Event.id).where(
                    Event.type == "user.updated", Event.user_id.in_([p.id for p in people])
                )
            )
        )
        deliveries = set(await session.scalars(select(WebhookDelivery.id)))
    by_delivery = Counter(receiver.ids())
    by_event = Counter(json.loads(r.body)["data"]["id"] for r in receiver.requests)
    assert len(events) == WRITES
    assert {str(d) for d in deliveries} == set(by_delivery), "a delivery was lost"
    assert max(by_delivery.values()) == 1, "a delivery was sent twice"
    assert set(by_event) == {str(e) for e in events} and max(by_event.values()) == 1


async def test_requests_spread_over_two_api_processes_count_against_one_budget(
    test_settings: Settings, make_user: MakeUser, redis_url: str
) -> None:
    person = await make_user()
    shared = {
        "RAPPORT_REDIS_URL": redis_url,
        "RAPPORT_RATE_LIMIT_PER_TOKEN": f"{BUDGET}/day",
        "RAPPORT_RATE_LIMIT_PER_IP": "100000/day",
    }
    async with AsyncExitStack() as stack:
        a, b = await asyncio.gather(  # side by side: each takes seconds to start
            stack.enter_async_context(serve(test_settings, extra_env=shared)),
            stack.enter_async_context(serve(test_settings, extra_env=shared)),
        )
        headers = person.headers("profile")
        answers = [
            await (a if n % 2 else b).http.get("/v1/me", headers=headers) for n in range(BUDGET)
        ]
        assert [r.status_code for r in answers] == [200] * BUDGET
        assert [_remaining(r, "token") for r in answers] == list(range(BUDGET - 1, -1, -1))
        for api in (a, b):  # the budget is spent, whichever process is asked
            refused = await api.http.get("/v1/me", headers=headers)
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert int(refused.headers["retry-after"]) >= 1


async def test_the_api_serves_again_once_the_database_closed_every_connection(
    test_settings: Settings, make_user: MakeUser, client: httpx.AsyncClient
) -> None:
    """What a PostgreSQL restart does to an idle API process: every pooled connection is
    closed by the server. The next requests get new connections, not a 500."""
    person = await make_user()
    headers = person.headers("profile")
    # Several connections in the pool: concurrent reads and writes.
    warm = await asyncio.gather(
        *(client.get("/v1/me", headers=headers) for _ in range(4)),
        *(client.patch("/v1/me", json={"display_name": "Ann"}, headers=headers) for _ in range(4)),
    )
    assert {r.status_code for r in warm} == {200}
    admin = await asyncpg.connect(test_settings.database_url.replace("+asyncpg", ""))
    try:
        pids = [
            row[0]
            for row in await admin.fetch(
                "WITH others AS MATERIALIZED (SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid())"
                " SELECT pid FROM others WHERE pg_terminate_backend(pid)"
            )
        ]
        assert pids, "the app held no connection"

        async def gone() -> bool:
            alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])"
            return await admin.fetchval(alive, pids) == 0  # type: ignore[no-any-return]

        await _until(gone, 30)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the event loop reads each closed socket's end
    after = [await client.get("/v1/me", headers=headers) for _ in range(12)] + [
        await client.patch("/v1/me", json={"display_name": "Bo"}, headers=headers)
        for _ in range(12)
    ]
    assert [r.status_code for r in after] == [200] * 24, [r.text for r in after]
