"""The export job on the job engine: scheduled by pgqueuer like every job, retried after a
failure, failed after the last attempt, and never two exports in progress for one person."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import crypto
from app.core.encryption_orm import destroy_data_key
from app.jobs.registry import JOBS, ScheduledJob
from app.jobs.runner import start_jobs
from app.models.base import utcnow
from app.models.exports import Export, ExportState
from app.services import exports, exports_archive
from tests.conftest import MakeUser
from tests.exports_support import (
    EVERY_SECOND,
    EXPORTS,
    h,
    job_context,
    run_job,
    start,
    sweep,
    until,
)


def test_the_export_jobs_are_registered() -> None:
    names = {job.name for job in JOBS}
    assert {"run_exports", "sweep_exports"} <= names


@pytest.mark.slow  # waits for pgqueuer's scheduler to tick
async def test_the_engine_runs_the_export_job(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    export = await start(client, ann)
    [job] = [job for job in JOBS if job.name == "run_exports"]
    running = await start_jobs(job_context(app), (ScheduledJob(job.name, job.run, EVERY_SECOND),))
    try:

        async def ready() -> bool:
            shown = await client.get(f"{EXPORTS}/{export['id']}", headers=h(ann))
            return bool(shown.json()["state"] == "ready")

        await until(ready)
    finally:
        await running.stop()


@pytest.fixture
def broken_archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls: list[int] = []

    async def fail(*_args: Any, **_kwargs: Any) -> None:
        calls.append(1)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(exports, "write_archive", fail)
    yield calls
    monkeypatch.setattr(exports, "write_archive", exports_archive.write_archive)


async def test_a_failing_build_is_retried_then_failed(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    broken_archive: list[int],
) -> None:
    ann = await make_user()
    export = await start(client, ann)
    for _ in range(exports.MAX_ATTEMPTS):
        assert await run_job(app) == 0
    assert len(broken_archive) == exports.MAX_ATTEMPTS
    shown = (await client.get(f"{EXPORTS}/{export['id']}", headers=h(ann))).json()
    assert shown["state"] == "failed" and shown["links"]["archive"] is None
    directory = app.state.settings.export_directory
    assert not [p for p in directory.iterdir() if p.name.startswith(export["id"])]
    # A failed export is finished: a new one may start.
    assert (await start(client, ann))["id"] != export["id"]


async def test_concurrent_requests_queue_one_export(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    me = ann.member("profile")

    async def ask() -> uuid.UUID:
        async with sessionmaker() as session, session.begin():
            return (await exports.start_export(session, me, utcnow())).id

    ids = await asyncio.gather(*(ask() for _ in range(4)))
    assert len(set(ids)) == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Export)) == 1
        [row] = await session.scalars(select(Export))
        assert row.state is ExportState.pending and row.in_progress_user_id == ann.id


async def test_a_closed_account_s_pending_export_fails(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    export = await start(client, ann)
    closed = await client.request(
        "DELETE", "/v1/me", json={"password": ann.password}, headers=h(ann)
    )
    assert closed.status_code == 202
    assert await run_job(app) == 0
    async with app.state.sessionmaker() as session:
        row = await session.get(Export, uuid.UUID(export["id"]))
        assert row is not None and row.state is ExportState.failed and row.key is None


async def test_only_the_attempt_holding_the_claim_marks_the_export_ready(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann = await make_user()
    export_id = uuid.UUID((await start(client, ann))["id"])
    ttl = timedelta(days=1)
    claim = await exports._claim_next(sessionmaker, utcnow(), ttl)
    assert claim is not None and claim.attempt == 1
    directory = app.state.settings.export_directory
    # Meanwhile the lease ran out and another worker took the export over (attempt 2).
    async with sessionmaker() as session, session.begin():
        row = await session.get(Export, export_id)
        assert row is not None
        row.attempts = 2
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f"{export_id}.2.part"
    partial.write_bytes(b"being written by the other worker")
    assert not await exports._build(sessionmaker, claim, directory, utcnow, ttl)
    assert not (directory / f"{export_id}.1.rpx").exists()
    async with sessionmaker() as session:
        row = await session.get(Export, export_id)
        assert row is not None and row.state is ExportState.running and row.key is None
    # The sweep keeps the files of an export still being built.
    await sweep(app)
    assert partial.exists()
    partial.unlink()


async def test_the_archive_key_is_stored_sealed_and_dies_with_the_data_key(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann = await make_user()
    export = await start(client, ann)
    await run_job(app)
    export_id = uuid.UUID(export["id"])
    async with sessionmaker() as session:
        stored = await session.scalar(select(Export.__table__.c.key).where(Export.id == export_id))
        opened = (await session.get_one(Export, export_id)).key
    assert stored is not None and crypto.is_sealed(stored)
    assert opened is not None and len(opened) == 32 and opened not in stored

    async with sessionmaker() as session, session.begin():
        await destroy_data_key(session, ann.id)
    async with sessionmaker() as session:
        assert (await session.get_one(Export, export_id)).key is None
