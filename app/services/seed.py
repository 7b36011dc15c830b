"""Starter content loaded on first start and by `rapport seed`; idempotent."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.clients import ensure_first_party_client


async def seed(session: AsyncSession) -> dict[str, int]:
    """Load what a fresh installation needs; never overwrites what curators changed."""
    await ensure_first_party_client(session)
    return {"clients": 1}
