"""Migration 0009 seals the free text already stored, and its downgrade opens it again."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import Connection, insert, select

from app.core import crypto
from app.core.encryption_orm import open_stored
from app.db import create_engine
from app.migrate import downgrade, upgrade
from app.models import JournalEntry, RepairStep, User
from tests.test_migrations import fresh_database_url

__all__ = ["fresh_database_url"]  # the fixture, shared

WORDS = "What I never said out loud"


async def _body(url: str, entry_id: uuid.UUID) -> tuple[str, object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            stored = (
                await connection.execute(
                    select(JournalEntry.__table__.c.body).where(
                        JournalEntry.__table__.c.id == entry_id
                    )
                )
            ).scalar_one()

            def work(sync: Connection) -> object:
                return open_stored({}, sync, "journal_entries", "body", entry_id, stored)

            return stored, await connection.run_sync(work)
    finally:
        await engine.dispose()


async def test_existing_text_is_sealed_on_upgrade_and_opened_on_downgrade(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    await asyncio.to_thread(upgrade, url, "0005_exit")
    user_id, entry_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(User).values(
                    id=user_id,
                    email="a@example.org",
                    email_normalized="a@example.org",
                    password_hash="!",
                    display_name="A",
                    timezone="UTC",
                    locale="en",
                    role="member",
                    created_at=now,
                    updated_at=now,
                )
            )
            await connection.execute(
                insert(JournalEntry).values(
                    id=entry_id,
                    user_id=user_id,
                    body=WORDS,
                    pattern_tags=[],
                    emotions=[],
                    local_date=date(2026, 12, 2),
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        await engine.dispose()

    await asyncio.to_thread(upgrade, url)
    stored, opened = await _body(url, entry_id)
    assert crypto.is_sealed(stored) and WORDS not in stored
    assert opened == WORDS
    assert "written_by" in RepairStep.__table__.c

    await asyncio.to_thread(downgrade, url, "0005_exit")
    stored, _ = await _body(url, entry_id)
    assert stored == WORDS
