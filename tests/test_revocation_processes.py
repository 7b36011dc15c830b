"""Two API processes sharing one database: a token revoked through one is refused by the other
within five seconds (PostgreSQL: LISTEN/NOTIFY; SQLite: each process reads new rows each second).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.core.tokens import InvalidToken
from tests.conftest import PUBLIC_URL, MakeUser

pytestmark = pytest.mark.slow

RAPPORT = str(Path(sys.executable).with_name("rapport"))
WITHIN_SECONDS = 5.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def api_process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """`rapport serve` on a port of its own, answering once it is ready."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_DATABASE_URL": settings.database_url,
        "RAPPORT_PUBLIC_URL": PUBLIC_URL,  # the issuer and audience of the tests' tokens
        "RAPPORT_ENVIRONMENT": "test",
        "RAPPORT_SEED_ON_START": "false",
        "RAPPORT_RUN_WORKER_IN_PROCESS": "false",
        "RAPPORT_ARGON2_TIME_COST": "1",
        "RAPPORT_ARGON2_MEMORY_KIB": "8",
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_LOG_JSON": "false",
    }
    process = await asyncio.create_subprocess_exec(
        RAPPORT, "serve", "--host", "127.0.0.1", "--port", str(port), env=env
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            deadline = time.monotonic() + 120  # a loaded machine starts processes slowly
            while True:
                if process.returncode is not None:
                    raise AssertionError(f"the API process exited with {process.returncode}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("the API process did not start")
                await asyncio.sleep(0.1)
            yield http
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def seconds_until_refused(http: httpx.AsyncClient, access_token: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < WITHIN_SECONDS + 5:
        response = await http.get("/v1/me", headers={"Authorization": f"Bearer {access_token}"})
        if response.status_code == 401:
            return time.monotonic() - started
        assert response.status_code == 200, response.text
        await asyncio.sleep(0.05)
    raise AssertionError("the other process kept accepting the revoked token")


async def test_a_token_revoked_through_one_process_is_refused_by_the_other(
    app: FastAPI, test_settings: Settings, make_user: MakeUser, first_party_client: object
) -> None:
    ann, bo = await make_user(), await make_user()
    async with AsyncExitStack() as stack:
        a, b = await asyncio.gather(  # started side by side: each takes seconds to start
            stack.enter_async_context(api_process(test_settings)),
            stack.enter_async_context(api_process(test_settings)),
        )
        changing, logged_out, untouched = (
            ann.token("profile"),
            bo.token("profile"),
            bo.token("profile"),
        )
        for token in (changing, logged_out, untouched):  # verified, and cached, by B
            response = await b.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text

        changed = await a.post(
            "/v1/me/password",
            json={"current_password": ann.password, "new_password": "a brand new passphrase"},
            headers={"Authorization": f"Bearer {changing}"},
        )
        assert changed.status_code == 204, changed.text
        assert await seconds_until_refused(b, changing) < WITHIN_SECONDS

        revoked = await a.post(
            "/oauth/revoke", data={"token": logged_out, "client_id": "rapport-mobile"}
        )
        assert revoked.status_code == 200
        assert await seconds_until_refused(b, logged_out) < WITHIN_SECONDS

        still = await b.get("/v1/me", headers={"Authorization": f"Bearer {untouched}"})
        assert still.status_code == 200
    # The tests' own app, a third process on the same database, learnt of it as well.
    deadline = time.monotonic() + WITHIN_SECONDS
    while not _refused(app, changing):
        assert time.monotonic() < deadline, "the tests' app kept accepting the revoked token"
        await asyncio.sleep(0.05)


def _refused(app: FastAPI, access_token: str) -> bool:
    try:
        app.state.tokens.verify(access_token)
    except InvalidToken:
        return True
    return False
