"""Requests with an Idempotency-Key, and counting what they wrote."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def keyed(key: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key, **(headers or {})}


async def count(session_maker: async_sessionmaker[AsyncSession], model: Any, *where: Any) -> int:
    async with session_maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
