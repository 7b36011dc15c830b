"""Running the scheduled jobs on pgqueuer's scheduler.

On PostgreSQL the schedules live in the `rapport_jobs` schema (made by migration `0005_jobs`);
a worker claims a due schedule with `FOR UPDATE SKIP LOCKED` and moves its next run forward
in the same statement, so however many workers run, one of them runs a job per tick. A
worker that dies mid-job stops refreshing its heartbeat and another one takes the job over.
On SQLite (one `rapport serve` process) the same scheduler runs on pgqueuer's in-memory
driver, inside the app's lifespan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import asyncpg  # type: ignore[import-untyped]
from pgqueuer import InMemoryDriver, InMemoryQueries, Queries, SchedulerManager
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.qb import (
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)
from pgqueuer.domain.settings import DBSettings
from pgqueuer.models import Schedule
from pgqueuer.ports import RepositoryPort
from sqlalchemy.engine import make_url

from app.jobs.context import JobContext
from app.jobs.registry import JOBS, ScheduledJob

JOBS_SCHEMA = "rapport_jobs"
log = logging.getLogger("rapport.jobs")


def pgqueuer_settings() -> DBSettings:
    """pgqueuer's object names: its default names, in the `rapport_jobs` schema."""
    return DBSettings(prefix="", db_schema=JOBS_SCHEMA)


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as asyncpg spells it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


@asynccontextmanager
async def job_queries(database_url: str) -> AsyncIterator[RepositoryPort]:
    """pgqueuer's queries: on a connection of their own (PostgreSQL), or in memory (SQLite)."""
    if database_url.startswith("sqlite"):
        yield InMemoryQueries(InMemoryDriver())
        return
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    settings = pgqueuer_settings()
    try:
        yield Queries(
            AsyncpgDriver(connection),
            qbe=QueryBuilderEnvironment(settings),
            qbq=QueryQueueBuilder(settings),
            qbs=QuerySchedulerBuilder(settings),
        )
    finally:
        await connection.close()


async def run_job(job: ScheduledJob, context: JobContext) -> int:
    count = await job.run(context)
    log.info("job %s done: %d", job.name, count, extra={"job": job.name, "count": count})
    return count


def build_scheduler(
    queries: RepositoryPort, context: JobContext, jobs: tuple[ScheduledJob, ...] = JOBS
) -> SchedulerManager:
    """A scheduler with every job registered on its (possibly overridden) schedule.

    A job that raises is logged by pgqueuer and simply runs again at its next tick.
    """
    scheduler = SchedulerManager(queries)
    for job in jobs:

        async def entrypoint(_schedule: Schedule, job: ScheduledJob = job) -> None:
            await run_job(job, context)

        scheduler.schedule(job.name, job.schedule_for(context.settings), accepts_context=False)(
            entrypoint
        )
    return scheduler


@dataclass
class RunningJobs:
    scheduler: SchedulerManager
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Let the jobs in flight finish, then stop."""
        self.scheduler.shutdown.set()
        await self.task


async def start_jobs(context: JobContext, jobs: tuple[ScheduledJob, ...] = JOBS) -> RunningJobs:
    """Run the scheduler as a task of the running event loop until `stop()`."""
    stack = AsyncExitStack()
    queries = await stack.enter_async_context(job_queries(context.settings.database_url))
    scheduler = build_scheduler(queries, context, jobs)

    async def run() -> None:
        try:
            await scheduler.run()
        except Exception:
            log.exception("the job scheduler stopped")
        finally:
            await stack.aclose()

    return RunningJobs(scheduler, asyncio.create_task(run(), name="rapport-jobs"))
