"""The route index only repeats what FastAPI's own scan of the routes decides."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute, Match

from app.core.route_index import METHODS, RouteIndex, install_route_index


def _probe(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


def _scanned(routes: list[BaseRoute], method: str, path: str) -> BaseRoute | None:
    return next((r for r in routes if r.matches(_probe(method, path))[0] is Match.FULL), None)


def _indexed(app: FastAPI, method: str, path: str) -> BaseRoute | None:
    index = app.router.routes[0]
    assert isinstance(index, RouteIndex)
    match, child = index.matches(_probe(method, path))
    return child["rapport.route_index.chosen"] if match is Match.FULL else None


def test_every_fixed_path_of_the_app_goes_where_the_scan_sends_it(app: FastAPI) -> None:
    rest = app.router.routes[1:]
    fixed = ["/v1/me", "/v1/couples/me/checkins", "/v1/couples/me/prompts/today", "/health"]
    for path in fixed:
        for method in METHODS:
            assert _indexed(app, method, path) is _scanned(rest, method, path), (method, path)
    assert _indexed(app, "GET", "/v1/me") is not None
    # What the index adds to the scope is what the scan's match adds (nothing, for a route of
    # an included router: it is not run again).
    index = app.router.routes[0]
    for path in fixed[:3]:
        chosen = _scanned(rest, "GET", path)
        assert chosen is not None
        _, child = index.matches(_probe("GET", path))
        child.pop("rapport.route_index.chosen")
        assert child == chosen.matches(_probe("GET", path))[1], path
    # Paths with parameters are left to the scan.
    assert _indexed(app, "GET", "/v1/checkins/2f0c5b1e-8a7e-4d2c-9a51-0c3c1b7d9e10") is None


def _overlapping_app() -> FastAPI:
    app = FastAPI()
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def one_item(item_id: str) -> dict[str, str]:
        return {"route": "templated", "item_id": item_id}

    @items.get("/fixed")
    async def fixed_item() -> dict[str, str]:  # shadowed: the templated route comes first
        return {"route": "fixed"}

    @items.post("/fixed")
    async def post_fixed() -> dict[str, str]:
        return {"route": "post fixed"}

    app.include_router(items)
    install_route_index(app)
    return app


async def test_a_templated_route_that_comes_first_still_wins() -> None:
    app = _overlapping_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/items/fixed")).json()["route"] == "templated"
        assert (await client.post("/items/fixed")).json()["route"] == "post fixed"
        assert (await client.put("/items/fixed")).status_code == 405
        assert (await client.get("/nowhere")).status_code == 404


async def test_a_route_added_after_first_use_is_found() -> None:
    app = _overlapping_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/later")).status_code == 404

        @app.get("/later")
        async def later() -> dict[str, str]:
            return {"route": "later"}

        assert (await client.get("/later")).json() == {"route": "later"}
        assert _indexed(app, "GET", "/later") is not None
