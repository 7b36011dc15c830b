"""Running the dispatcher: `rapport worker`, or a task inside `rapport serve` (SQLite)."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.delivery.dispatcher import Dispatcher


@dataclass
class InProcessWorker:
    dispatcher: Dispatcher
    stop_event: asyncio.Event
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.stop_event.set()
        await self.task
        await self.dispatcher.aclose()


def start_in_process_worker(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> InProcessWorker:
    dispatcher = Dispatcher(sessionmaker, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop), name="rapport-webhook-dispatcher")
    return InProcessWorker(dispatcher, stop, task)


async def run_worker(
    settings: Settings,
    *,
    poll_interval: float = 1.0,
    lease_seconds: float = 60.0,
    batch_size: int = 100,
) -> None:
    """Dispatch until SIGTERM or SIGINT; the batch in flight finishes first."""
    engine = create_engine(settings.database_url)
    dispatcher = Dispatcher(
        create_sessionmaker(engine),
        settings,
        lease_seconds=lease_seconds,
        batch_size=batch_size,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await dispatcher.run(stop, poll_interval=poll_interval)
    finally:
        await dispatcher.aclose()
        await engine.dispose()
