"""What every job function receives: the database, the settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models.base import utcnow


@dataclass(frozen=True)
class JobContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: Callable[[], datetime] = field(default=utcnow)
    """The app's clock (`app.state.clock` under `rapport serve`), so tests can move time."""

    def now(self) -> datetime:
        return self.clock()

    @property
    def batch_size(self) -> int:
        return self.settings.retention_batch_size
