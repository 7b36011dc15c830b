"""The job engine: schedules, several workers, a failing job, and `rapport serve`'s lifespan.

Jobs run on pgqueuer: on PostgreSQL its schedules table (claimed with FOR UPDATE SKIP
LOCKED), on SQLite its in-memory driver. Every wait is a generous wait-for-condition.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.jobs.context import JobContext
from app.jobs.registry import JOBS, ScheduledJob
from app.jobs.runner import start_jobs
from app.main import create_app
from app.models.base import utcnow
from app.models.idempotency import IdempotencyRecord

EVERY_SECOND = "* * * * * *"
RAPPORT = str(Path(sys.executable).with_name("rapport"))


async def until(condition: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out waiting for the condition")


async def _add_record(
    sessionmaker: async_sessionmaker[AsyncSession], key: str, expires_at: datetime
) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(
            IdempotencyRecord(caller="user:1", key=key, fingerprint="f" * 64, expires_at=expires_at)
        )


async def _keys(sessionmaker: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessionmaker() as session:
        return set(await session.scalars(select(IdempotencyRecord.key)))


def test_job_names_are_unique_and_schedules_can_be_overridden() -> None:
    names = [job.name for job in JOBS]
    assert len(names) == len(set(names))
    settings = Settings(job_schedules={"sweep_events": "0 5 * * *"}, _env_file=None)
    schedules = {job.name: job.schedule_for(settings) for job in JOBS}
    assert schedules["sweep_events"] == "0 5 * * *"
    assert schedules["sweep_revocations"] == "*/10 * * * *"


def test_jobs_run_in_process_on_sqlite_only_by_default() -> None:
    def settings(url: str, **extra: Any) -> Settings:
        return Settings(database_url=url, _env_file=None, **extra)

    assert settings("sqlite+aiosqlite:///x.db").jobs_in_process
    assert not settings("postgresql+asyncpg://db/rapport").jobs_in_process
    assert settings("postgresql+asyncpg://db/rapport", run_jobs_in_process=True).jobs_in_process
    assert not settings("sqlite+aiosqlite:///x.db", environment="test").jobs_in_process


@pytest.mark.slow
async def test_a_job_that_fails_runs_again_at_the_next_tick(
    sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    outcomes: list[str] = []

    async def flaky(_context: JobContext) -> int:
        if not outcomes:
            outcomes.append("failed")
            raise RuntimeError("the database went away")
        outcomes.append("done")
        return 1

    job = ScheduledJob("test_flaky", flaky, EVERY_SECOND)
    running = await start_jobs(JobContext(sessionmaker, test_settings), (job,))
    try:

        async def succeeded() -> bool:
            return "done" in outcomes

        await until(succeeded)
    finally:
        await running.stop()
    assert outcomes[:2] == ["failed", "done"]


async def test_two_workers_never_run_one_scheduled_job_at_once(
    sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("workers share schedules through PostgreSQL (set RAPPORT_TEST_DATABASE_URL)")
    in_flight: list[str] = []
    most_at_once = 0
    runs: list[str] = []

    def job_for(worker: str) -> ScheduledJob:
        async def tick(_context: JobContext) -> int:
            nonlocal most_at_once
            in_flight.append(worker)
            most_at_once = max(most_at_once, len(in_flight))
            # Longer than a tick: a second worker claiming the same tick would overlap.
            await asyncio.sleep(1.5)
            in_flight.remove(worker)
            runs.append(worker)
            return 0

        return ScheduledJob("test_tick", tick, EVERY_SECOND)

    # Each has its own asyncpg connection: two workers as far as PostgreSQL can tell.
    first = await start_jobs(JobContext(sessionmaker, test_settings), (job_for("first"),))
    second = await start_jobs(JobContext(sessionmaker, test_settings), (job_for("second"),))
    try:

        async def ran_thrice() -> bool:
            return len(runs) >= 3

        await until(ran_thrice, within=60)
    finally:
        await first.stop()
        await second.stop()
    assert most_at_once == 1, runs


@pytest.mark.slow
async def test_serve_lifespan_runs_the_sweeps_on_the_apps_clock(
    sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    settings = test_settings.model_copy(
        update={
            "run_jobs_in_process": True,
            "job_schedules": {"sweep_idempotency_records": EVERY_SECOND},
        }
    )
    app = create_app(settings)
    # The app's clock stands a day ahead: what expires within the day is due.
    app.state.clock = lambda: utcnow() + timedelta(days=1)
    await _add_record(sessionmaker, "expires-tonight", utcnow() + timedelta(hours=12))
    await _add_record(sessionmaker, "expires-in-two-days", utcnow() + timedelta(days=2))
    async with app.router.lifespan_context(app):

        async def swept() -> bool:
            return "expires-tonight" not in await _keys(sessionmaker)

        await until(swept)
    assert await _keys(sessionmaker) == {"expires-in-two-days"}


@asynccontextmanager
async def worker_process(settings: Settings) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": settings.database_url,
        "RAPPORT_JOB_SCHEDULES": f'{{"sweep_idempotency_records": "{EVERY_SECOND}"}}',
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_LOG_JSON": "false",
    }
    process = await asyncio.create_subprocess_exec(
        RAPPORT, "worker", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    drained: asyncio.Task[bytes] | None = None
    try:
        # SIGTERM is handled gracefully once the worker says it started.
        async with asyncio.timeout(60):
            while b"Rapport worker started" not in (line := await process.stderr.readline()):
                assert line, "the worker exited before it started"
        drained = asyncio.create_task(process.stderr.read())  # never let the pipe fill up
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        if drained is not None:
            await drained


@pytest.mark.slow
async def test_rapport_worker_processes_run_the_sweeps_and_stop_on_sigterm(
    sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("`rapport worker` runs the jobs on PostgreSQL (set RAPPORT_TEST_DATABASE_URL)")
    await _add_record(sessionmaker, "expired", utcnow() - timedelta(seconds=1))
    await _add_record(sessionmaker, "valid", utcnow() + timedelta(hours=1))
    async with worker_process(test_settings) as first, worker_process(test_settings) as second:

        async def swept() -> bool:
            return await _keys(sessionmaker) == {"valid"}

        await until(swept, within=60)
        for process in (first, second):
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0
