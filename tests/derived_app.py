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
    product_routes = list(derived.router.routes)
    for router in routers:
        derived.include_router(router)
    # The test routes are matched first: FastAPI prepares an included router's routes on the
    # first request that looks through it, and preparing all of the product's for every test
    # app cost seconds of the fast lane. The test routes' paths are their own, so the order
    # changes no answer.
    test_routes = derived.router.routes[len(product_routes) :]
    derived.router.routes[:] = [*test_routes, *product_routes]
    derived.state._state.update(
        {name: value for name, value in app.state._state.items() if name != "settings"}
    )
    return derived


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http
