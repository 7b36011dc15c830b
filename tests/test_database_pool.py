"""The API process's PostgreSQL pool comes from its settings (SQLite keeps its own pool)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.db import create_engine

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/unused"


def test_the_pool_follows_the_settings() -> None:
    settings = Settings(database_url=POSTGRES, database_pool_size=7, database_max_overflow=3)
    assert settings.database_pool_options() == {"pool_size": 7, "max_overflow": 3}
    engine = create_engine(settings.database_url, echo=False, **settings.database_pool_options())
    pool = engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow) == (7, 3)  # type: ignore[attr-defined]


def test_sqlite_keeps_its_own_pool_and_bad_sizes_are_refused() -> None:
    assert Settings(database_url="sqlite+aiosqlite:///./x.db").database_pool_options() == {}
    with pytest.raises(ValidationError):
        Settings(database_url=POSTGRES, database_pool_size=0)
