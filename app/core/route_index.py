"""A lookup table in front of the app's routes, for paths without parameters.

FastAPI matches a request by trying every included router in order, and each tries every
route it holds (then does it once more for the router it picked): a few microseconds per
route passed, so a route near the end of a large app pays a third of a millisecond before
its handler runs. Most requests an app makes on every screen go to fixed paths
(`/v1/me`, `/v1/couples/me/checkins`, `/v1/couples/me/prompts/today`).

`RouteIndex` is the router's first route. The first time it sees a request it scans the
routes after it once for each fixed path (one per route without parameters) and method,
and records which of them the ordinary scan would pick; afterwards a request for such a
path goes straight to that route. Any other request (a path with an id, a method nothing
answers, a mounted app, a `root_path`) finds nothing in the table and the ordinary scan
runs as before, so the table only ever repeats a decision the ordinary scan made.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_CHOSEN = "rapport.route_index.chosen"


class RouteIndex(BaseRoute):
    def __init__(self, app: FastAPI) -> None:
        self._app = app
        # The route, and whether its match adds nothing to the scope (an included router's
        # adds nothing; it chooses again when it handles the request): then it is not run.
        self._table: dict[tuple[str, str], tuple[BaseRoute, bool]] = {}
        self._built_for = -1  # how many routes the app had when the table was built

    def _build(self) -> dict[tuple[str, str], tuple[BaseRoute, bool]]:
        routes = self._app.router.routes
        after = routes[routes.index(self) + 1 :]
        fixed = {
            path
            for context in iter_route_contexts(after)
            if isinstance(path := getattr(context, "path_format", None), str) and "{" not in path
        }
        table: dict[tuple[str, str], tuple[BaseRoute, bool]] = {}
        for path in fixed:
            for method in METHODS:
                probe = {"type": "http", "method": method, "path": path, "root_path": ""}
                for route in after:
                    match, child_scope = route.matches(probe)
                    if match is Match.FULL:
                        table[(method, path)] = (route, not child_scope)
                        break
        return table

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope.get("root_path"):
            return Match.NONE, {}
        if self._built_for != len(self._app.router.routes):  # built on first use, and anew
            self._table = self._build()  # when a route is added (tests add some)
            self._built_for = len(self._app.router.routes)
        entry = self._table.get((scope["method"], scope["path"]))
        if entry is None:
            return Match.NONE, {}
        chosen, adds_nothing = entry
        if adds_nothing:
            return Match.FULL, {_CHOSEN: chosen}
        match, child_scope = chosen.matches(scope)
        if match is not Match.FULL:  # cannot happen: the same route, path and method
            return Match.NONE, {}
        return Match.FULL, {**child_scope, _CHOSEN: chosen}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen: BaseRoute = scope[_CHOSEN]
        await chosen.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


def install_route_index(app: FastAPI) -> None:
    """Put a `RouteIndex` first among the app's routes (its table is built on first use,
    after every router is included)."""
    app.router.routes.insert(0, RouteIndex(app))
