"""Test apps: the real application plus test-only routes, sharing the running app's state.

Convention tests need endpoints no product route offers (a slow POST, a route that crashes, a
list of events). Adding them to the session's app would leak into the published schema, so each
test builds a fresh `create_app()` with its routers and borrows the session app's engine,
sessionmakers and key ring (ASGITransport runs no lifespan).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI

from app.main import create_app
from tests.conftest import PUBLIC_URL


def derived_app(app: FastAPI, *routers: APIRouter) -> FastAPI:
    derived = create_app(app.state.settings)
    for router in routers:
        derived.include_router(router)
    derived.state._state.update(
        {name: value for name, value in app.state._state.items() if name != "settings"}
    )
    return derived


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http
