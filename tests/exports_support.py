"""Helpers of the export tests: every member scope, asking for an export, running the job."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from app.core.security import MEMBER_SCOPES
from app.jobs.context import JobContext
from app.jobs.exports import run_exports
from app.jobs.retention import sweep_exports
from tests.conftest import Person

ALL = tuple(sorted(scope.value for scope in MEMBER_SCOPES))
EXPORTS = "/v1/me/exports"
EVERY_SECOND = "* * * * * *"


async def until(condition: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out waiting for the condition")


def h(person: Person, client_id: str = "rapport-mobile") -> dict[str, str]:
    return person.headers(*ALL, client_id=client_id)


def job_context(app: FastAPI) -> JobContext:
    return JobContext(app.state.sessionmaker, app.state.settings, lambda: app.state.clock())


async def run_job(app: FastAPI) -> int:
    return await run_exports(job_context(app))


async def sweep(app: FastAPI) -> int:
    return await sweep_exports(job_context(app))


async def start(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    response = await client.post(EXPORTS, headers=h(person))
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{EXPORTS}/{response.json()['id']}"
    return response.json()  # type: ignore[no-any-return]


async def export_archive(app: FastAPI, client: httpx.AsyncClient, person: Person) -> str:
    """Ask, build, download: the archive's text."""
    export = await start(client, person)
    await run_job(app)
    shown = await client.get(f"{EXPORTS}/{export['id']}", headers=h(person))
    assert shown.json()["state"] == "ready", shown.text
    response = await client.get(shown.json()["links"]["archive"], headers=h(person))
    assert response.status_code == 200, response.text
    json.loads(response.text)
    return response.text
