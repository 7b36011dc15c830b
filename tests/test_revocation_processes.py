"""Two API processes sharing one database: a token revoked through one is refused by the other
within five seconds (PostgreSQL: LISTEN/NOTIFY; SQLite: each process reads new rows each second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.core.tokens import InvalidToken
from tests.api_processes import api_process as serve
from tests.conftest import MakeUser

pytestmark = pytest.mark.slow

WITHIN_SECONDS = 5.0


@asynccontextmanager
async def api_process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings) as api:
        yield api.http


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
