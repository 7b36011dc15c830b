"""The migrations build exactly the models, and can be undone and redone.

Runs on the test engine (SQLite by default, PostgreSQL when RAPPORT_TEST_DATABASE_URL names
one) but in a database of its own, made for this test and removed after it, so that the
shared test database is never downgraded under the other tests' feet.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection, make_url

from app.core import crypto
from app.core.encryption_orm import open_stored
from app.db import create_engine
from app.migrate import AUTOGENERATE_OPTIONS, downgrade, upgrade
from app.models import Base, JournalEntry, OAuthClient, RepairStep, User


@pytest.fixture
async def fresh_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on the test engine, dropped afterwards."""
    shared = os.environ.get("RAPPORT_TEST_DATABASE_URL")
    if not shared or not shared.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    url = make_url(shared)
    name = f"rapport_migrations_{uuid.uuid4().hex[:12]}"
    admin: dict[str, Any] = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "database": "postgres",
    }
    connection = await asyncpg.connect(**admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(**admin)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def _differences(connection: Connection) -> list[Any]:
    options = {key: value for key, value in AUTOGENERATE_OPTIONS.items() if key == "compare_type"}
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(database_url: str) -> tuple[list[Any], set[str]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            tables = await connection.run_sync(_tables)
    finally:
        await engine.dispose()
    return differences, tables


async def test_upgrade_from_empty_builds_exactly_the_models(fresh_database_url: str) -> None:
    # Alembic's env.py runs its own event loop: give it a thread of its own.
    await asyncio.to_thread(upgrade, fresh_database_url)
    differences, tables = await _inspect(fresh_database_url)
    assert differences == [], (
        "The migrations and the models differ; generate a migration with "
        "`alembic revision --autogenerate -m '...'` and review it:\n"
        + "\n".join(map(repr, differences))
    )
    assert {table.name for table in Base.metadata.sorted_tables} <= tables


@pytest.mark.slow  # every migration down and up again
async def test_downgrade_to_base_and_upgrade_again(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url)
    await asyncio.to_thread(downgrade, fresh_database_url, "base")
    _, tables = await _inspect(fresh_database_url)
    assert tables <= {"alembic_version"}, f"left behind by the downgrades: {sorted(tables)}"
    await asyncio.to_thread(upgrade, fresh_database_url)
    differences, tables = await _inspect(fresh_database_url)
    assert differences == [], "\n".join(map(repr, differences))


# Migration 0010 seals the free text already stored, and its downgrade opens it again.
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


# Migration 0016 lets Rapport's own clients ask for the conversation scopes; no other client.
async def _scopes(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            table = OAuthClient.__table__
            found = await connection.execute(select(table.c.client_id, table.c.allowed_scopes))
            return {client_id: list(scopes) for client_id, scopes in found}
    finally:
        await engine.dispose()


async def test_rapports_own_clients_learn_the_conversation_scopes_and_others_do_not(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    await asyncio.to_thread(upgrade, url, "0015_translations")
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for client_id, first_party in (("rapport-mobile", True), ("therapy-space", True)):
                await connection.execute(
                    insert(OAuthClient).values(
                        id=uuid.uuid4(),
                        client_id=client_id,
                        name=client_id,
                        redirect_uris=[],
                        allowed_scopes=["profile", "repair:read"],
                        is_confidential=not first_party,
                        is_first_party=first_party,
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        await engine.dispose()

    await asyncio.to_thread(upgrade, url, "0016_conversations")
    assert await _scopes(url) == {
        "rapport-mobile": ["profile", "repair:read", "conversations:read", "conversations:write"],
        "therapy-space": ["profile", "repair:read"],
    }
    await asyncio.to_thread(downgrade, url, "0015_translations")
    assert await _scopes(url) == {
        "rapport-mobile": ["profile", "repair:read"],
        "therapy-space": ["profile", "repair:read"],
    }
    _, tables = await _inspect(url)
    assert "conversations" not in tables and "conversation_turns" not in tables


# Migration 0017 lets Rapport's own clients ask for the activities scopes; no other client.
async def test_rapports_own_clients_learn_the_activities_scopes_and_others_do_not(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    await asyncio.to_thread(upgrade, url, "0016_conversations")
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for client_id in ("rapport-docs", "therapy-space"):
                await connection.execute(
                    insert(OAuthClient).values(
                        id=uuid.uuid4(),
                        client_id=client_id,
                        name=client_id,
                        redirect_uris=[],
                        allowed_scopes=["profile"],
                        is_confidential=False,
                        is_first_party=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        await engine.dispose()

    await asyncio.to_thread(upgrade, url, "0017_time_together")
    assert await _scopes(url) == {
        "rapport-docs": ["profile", "activities:read", "activities:write"],
        "therapy-space": ["profile"],
    }
    _, tables = await _inspect(url)
    assert {"activity_ideas", "activity_marks", "activity_matches", "activity_reviews"} <= set(
        tables
    )
    await asyncio.to_thread(downgrade, url, "0016_conversations")
    assert await _scopes(url) == {"rapport-docs": ["profile"], "therapy-space": ["profile"]}
    _, tables = await _inspect(url)
    assert not {t for t in tables if t.startswith("activity_")}


# Migration 0018 adds the weekly ritual's tables; its downgrade removes them and nothing else.
RITUAL_TABLES = {"ritual_schedules", "rituals", "ritual_entries", "ritual_commitments"}


async def test_the_weekly_ritual_tables_come_and_go(fresh_database_url: str) -> None:
    url = fresh_database_url
    await asyncio.to_thread(upgrade, url, "0017_time_together")
    _, before = await _inspect(url)
    assert not RITUAL_TABLES & before
    await asyncio.to_thread(upgrade, url, "0018_weekly_ritual")
    _, tables = await _inspect(url)
    assert tables - before == RITUAL_TABLES
    await asyncio.to_thread(downgrade, url, "0017_time_together")
    _, after = await _inspect(url)
    assert after == before
