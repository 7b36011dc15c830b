"""Sign-up is limited per IP address and for the whole server (argon2 is slow on purpose)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import create_app
from app.models import User
from tests.conftest import PUBLIC_URL


def _sign_up(n: int) -> dict[str, str]:
    return {
        "email": f"person{n}@example.org",
        "password": "correct horse battery",
        "display_name": f"Person {n}",
        "timezone": "Europe/Paris",
    }


@pytest.fixture
async def tight_app(app: FastAPI) -> FastAPI:
    """The running server with small limits: 2 sign-ups per IP, 3 in all, per hour."""
    settings = app.state.settings.model_copy(
        update={
            "signup_max_per_ip": 2,
            "signup_max_global": 3,
            "signup_global_window_seconds": 3600,
            "argon2_time_cost": 1,
            "argon2_memory_kib": 64,
        }
    )
    tight = create_app(settings)
    tight.state._state.update(
        {name: value for name, value in app.state._state.items() if name != "settings"}
    )
    tight.state.rate_limit_backend = None  # a backend of its own, cleared with the app
    return tight


async def _from(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


async def _count(db: AsyncSession) -> int:
    await db.rollback()
    return int(await db.scalar(select(func.count()).select_from(User)) or 0)


async def test_one_address_is_refused_after_its_limit_and_nothing_is_created(
    tight_app: FastAPI, db: AsyncSession
) -> None:
    async for http in _from(tight_app, "203.0.113.7"):
        for n in range(2):
            response = await http.post("/v1/users", json=_sign_up(n))
            assert response.status_code == 201, response.text
        refused = await http.post("/v1/users", json=_sign_up(2))
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert int(refused.headers["retry-after"]) > 0
    assert await _count(db) == 2
    async for other in _from(tight_app, "198.51.100.9"):
        assert (await other.post("/v1/users", json=_sign_up(3))).status_code == 201


async def test_the_whole_server_is_limited_whatever_the_address(
    tight_app: FastAPI, db: AsyncSession
) -> None:
    for n, ip in enumerate(["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]):
        async for http in _from(tight_app, ip):
            response = await http.post("/v1/users", json=_sign_up(n))
            assert response.status_code == (201 if n < 3 else 429), response.text
    assert await _count(db) == 3
