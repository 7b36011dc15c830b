"""Export jobs: build the personal data exports people asked for."""

from __future__ import annotations

from datetime import timedelta

from app.jobs.context import JobContext
from app.services.exports import build_due_exports


async def run_exports(context: JobContext) -> int:
    """Build pending exports, and retry those whose worker died; ready ones are left alone."""
    settings = context.settings
    return await build_due_exports(
        context.sessionmaker,
        settings.export_directory,
        context.now,
        timedelta(seconds=settings.export_ttl_seconds),
    )
