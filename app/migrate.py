"""Run Alembic migrations from code (the CLI, `rapport serve`, the tests).

The autogenerate comparison rules live here too, so that `migrations/env.py` and the test
that checks the migrations against the models (`tests/test_migrations.py`) use the same ones.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime

from app.config import PROJECT_ROOT
from app.models.base import UTCDateTime


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations; safe to call from a thread that has no running event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, database_url, revision)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations stay independent of app code: our UTC type is a plain timezone-aware DateTime."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Our UTC type matches a timezone-aware DateTime; anything else follows Alembic's rules."""
    if isinstance(metadata_type, UTCDateTime) and isinstance(inspected_type, DateTime):
        return False
    return None


# The options `context.configure()` and `compare_metadata()` share (batch mode for SQLite ALTERs).
AUTOGENERATE_OPTIONS: dict[str, Any] = {
    "compare_type": compare_type,
    "render_as_batch": True,
    "render_item": render_item,
}
