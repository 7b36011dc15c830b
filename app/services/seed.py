"""Starter content loaded on first start and by `rapport seed`; idempotent."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.clients import ensure_first_party_client
from app.services.library_files import seed_libraries
from app.services.repair_catalog import seed_templates


async def seed(session: AsyncSession) -> dict[str, int]:
    """Load what a fresh installation needs; never overwrites what curators changed."""
    await ensure_first_party_client(session)
    return {"clients": 1, **await seed_libraries(session), **await seed_templates(session)}
