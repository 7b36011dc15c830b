"""Every dependency of every route is async: FastAPI runs a plain `def` dependency on a
worker thread, a hop that costs more than most of our dependencies' work."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.main import create_app


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _runs_on_the_loop(call: Any) -> bool:
    # A security scheme is an object whose __call__ is the dependency.
    target = call if inspect.isfunction(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_no_route_has_a_sync_dependency() -> None:
    app: FastAPI = create_app()
    seen = 0
    sync = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        dependant = get_dependant(path=route.path, call=route.endpoint)
        calls = [*_calls(dependant), *(d.dependency for d in route.dependencies)]
        seen += len(calls)
        sync |= {
            f"{route.path} → {getattr(call, '__qualname__', call)}"
            for call in calls
            if not _runs_on_the_loop(call)
        }
    assert seen > 100  # the walk really reached the routes' dependencies
    assert not sync, sorted(sync)


def test_the_check_sees_a_sync_dependency() -> None:
    def plain() -> int:
        return 1

    async def coroutine() -> int:
        return 1

    assert not _runs_on_the_loop(plain)
    assert _runs_on_the_loop(coroutine)
