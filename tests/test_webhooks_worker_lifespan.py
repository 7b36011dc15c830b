"""`rapport serve` on SQLite runs the dispatcher in-process; it stops with the app."""

from __future__ import annotations

from app.config import Settings
from app.main import create_app


async def test_the_in_process_worker_starts_and_stops_with_the_app(
    test_settings: Settings,
) -> None:
    settings = test_settings.model_copy(update={"run_worker_in_process": True})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        worker = application.state.webhook_worker
        assert worker is not None and not worker.task.done()
    assert worker.task.done() and worker.task.exception() is None


def test_the_default_follows_the_engine() -> None:
    sqlite = Settings(database_url="sqlite+aiosqlite:///x.db", _env_file=None)
    postgres = Settings(database_url="postgresql+asyncpg://h/db", _env_file=None)
    assert sqlite.worker_in_process and not postgres.worker_in_process
