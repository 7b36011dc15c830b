"""Envelopes, key-encryption keys and their rotation, crypto-shredding at erasure, and values
moved between rows or columns that refuse to open."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Environment, Settings
from app.core import crypto
from app.core.encryption_orm import (
    MISSING,
    data_key_counts,
    rewrap_data_keys,
)
from app.models import CheckIn, DataKey, JournalEntry
from app.services.erasure import erase_account
from tests.conftest import MakeUser, Person
from tests.encryption_support import (
    MARK,
    copy_ciphertext,
    opened,
    rapport_command,
    rapport_environment,
    write_a_marker_everywhere,
)
from tests.factories import pair, publish_library

OWNER = uuid.UUID(int=7)
ROW = uuid.UUID(int=8)


def key(n: int) -> str:
    return base64.b64encode(bytes([n]) * 32).decode()


# --- Envelopes and key configuration ----------------------------------------------------


def test_an_envelope_opens_only_in_its_own_table_column_and_row() -> None:
    data_key = bytes(32)
    here = crypto.associated_data("journal_entries", "body", ROW)
    sealed = crypto.seal(data_key, OWNER, "Tuesday was hard", here)
    assert sealed.startswith("rp1.") and "Tuesday" not in sealed
    envelope = crypto.parse_envelope(sealed)
    assert envelope.owner == OWNER
    assert crypto.open_envelope(data_key, envelope, here) == "Tuesday was hard"
    assert crypto.seal(data_key, OWNER, "Tuesday was hard", here) != sealed  # a fresh nonce
    for elsewhere in (
        crypto.associated_data("journal_entries", "body", uuid.UUID(int=9)),
        crypto.associated_data("checkins", "body", ROW),
        crypto.associated_data("journal_entries", "title", ROW),
    ):
        with pytest.raises(crypto.EncryptionError):
            crypto.open_envelope(data_key, envelope, elsewhere)
    with pytest.raises(crypto.EncryptionError):
        crypto.open_envelope(bytes([1]) * 32, envelope, here)
    with pytest.raises(crypto.EncryptionError):
        crypto.parse_envelope("rp1.AAAA")


def test_key_lists_parse_and_wrapped_keys_stay_with_their_owner() -> None:
    keys = crypto.parse_keys(f"new:{key(2)}, old:{key(1)}")
    assert list(keys) == ["new", "old"]
    provider = crypto.StaticKeyProvider(keys)
    kek_id, wrapped = provider.wrap(b"k" * 32, OWNER)
    assert kek_id == "new" and provider.unwrap("new", wrapped, OWNER) == b"k" * 32
    with pytest.raises(crypto.EncryptionError):
        provider.unwrap("new", wrapped, uuid.UUID(int=99))  # moved to another person's row
    with pytest.raises(crypto.EncryptionError):
        provider.unwrap("gone", wrapped, OWNER)
    for bad in ("", "nokey", f"a:{key(1)},a:{key(2)}", "a:c2hvcnQ=", "a b:" + key(1), "a:!!"):
        with pytest.raises(crypto.KeyConfigError):
            crypto.parse_keys(bad)


def test_production_refuses_to_start_without_keys_and_never_echoes_a_bad_one() -> None:
    production: dict[str, Any] = {
        "environment": Environment.production,
        "secret_key": "a production secret of some length",
        "public_url": "https://rapport.example",
        "_env_file": None,
    }
    with pytest.raises(ValidationError, match="RAPPORT_ENCRYPTION_KEYS"):
        Settings(**production)
    assert Settings(**production, encryption_keys=f"k1:{key(3)}").encryption_keys is not None
    with pytest.raises(ValidationError) as refused:
        Settings(**production, encryption_keys="k1:c2VjcmV0LXRvby1zaG9ydA==")
    assert "c2VjcmV0" not in str(refused.value)


def test_development_generates_a_key_file_beside_the_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}"
    settings = Settings(database_url=url, _env_file=None)
    first = crypto.provider_from_settings(settings)
    path = tmp_path / "rapport.db.kek"
    assert path.exists() and path.stat().st_mode & 0o077 == 0
    again = crypto.provider_from_settings(settings)
    kek_id, wrapped = first.wrap(b"x" * 32, OWNER)
    assert again.unwrap(kek_id, wrapped, OWNER) == b"x" * 32
    assert crypto.development_key_file("postgresql+asyncpg://db/rapport") == Path("rapport-dev.kek")


# --- Through the database ---------------------------------------------------------------


@pytest.fixture
async def written(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> tuple[Person, Person]:
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    await write_a_marker_everywhere(client, ann, bo, MARK)
    return ann, bo


async def test_erasure_shreds_every_copy_of_the_persons_text(
    app: FastAPI,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    written: tuple[Person, Person],
) -> None:
    ann, bo = written
    backup = await copy_ciphertext(engine, ann.id)
    assert len(backup) >= 7 and all(crypto.is_sealed(v) for *_, v in backup)
    assert all(MARK in text for text in await opened(engine, backup))
    kept = await copy_ciphertext(engine, bo.id)

    async with sessionmaker() as session, session.begin():
        await erase_account(session, ann.id, datetime.now(UTC))

    assert crypto.cache.get(ann.id) is None
    assert await opened(engine, backup) == [MISSING] * len(backup)
    assert kept and MISSING not in await opened(engine, kept)  # the partner's own words stay
    # A sealed value restored from a backup into a live row opens as nothing, not as a 500.
    async with sessionmaker() as session, session.begin():
        entry = JournalEntry(user_id=bo.id, body="mine", local_date=datetime.now(UTC).date())
        session.add(entry)
    journal = next(v for t, _, _, v in backup if t == "journal_entries")
    async with engine.begin() as connection:
        await connection.execute(
            update(JournalEntry).where(JournalEntry.id == entry.id).values(body=journal)
        )
    async with sessionmaker() as session:
        restored = await session.get(JournalEntry, entry.id)
        assert restored is not None and restored.body == ""


@pytest.fixture
def restore_provider(test_settings: Settings) -> Iterator[None]:
    original = crypto.key_provider(test_settings.database_url)
    yield
    crypto.configure(original, database_url=test_settings.database_url)


async def test_rotating_the_kek_rewraps_data_keys_and_retires_old_backups(
    app: FastAPI,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    written: tuple[Person, Person],
    restore_provider: None,
    test_settings: Settings,
) -> None:
    ann, bo = written
    url = test_settings.database_url
    old_id = crypto.key_provider(url).active_key_id
    # The test environment's generated key, as the app read it.
    old_keys = crypto.load_or_create_key_file(
        crypto.development_key_file(test_settings.database_url)
    )
    async with engine.connect() as connection:
        backup_keys = (await connection.execute(select(DataKey.__table__))).all()
    backup = await copy_ciphertext(engine, ann.id)

    # The new key goes first; the old one still unwraps until everything is re-wrapped.
    crypto.configure(
        crypto.StaticKeyProvider({"k2": bytes([2]) * 32, **old_keys}), database_url=url
    )
    assert all(MARK in text for text in await opened(engine, backup))
    async with sessionmaker() as session, session.begin():
        assert await rewrap_data_keys(session, batch_size=1) == 2
        assert await data_key_counts(session) == {"k2": 2}
        assert await rewrap_data_keys(session) == 0

    async with sessionmaker() as session, session.begin():
        await erase_account(session, ann.id, datetime.now(UTC))
    # The old key retired: live text still opens, a backup's wrapped keys no longer do.
    retired = crypto.StaticKeyProvider({"k2": bytes([2]) * 32})
    crypto.configure(retired, database_url=url)
    kept = await copy_ciphertext(engine, bo.id)
    assert kept and all(isinstance(t, str) and t for t in await opened(engine, kept))
    for row in backup_keys:
        assert row.kek_id == old_id
        with pytest.raises(crypto.EncryptionError):
            retired.unwrap(row.kek_id, row.wrapped_key, row.user_id)
    assert await opened(engine, backup) == [MISSING] * len(backup)


async def test_a_value_moved_to_another_row_or_column_refuses_to_open(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    written: tuple[Person, Person],
) -> None:
    ann, _ = written
    async with sessionmaker() as session, session.begin():
        other = CheckIn(user_id=ann.id, mood=2, note="other", local_date=datetime.now(UTC).date())
        session.add(other)
    async with engine.begin() as connection:
        note, request, checkin_id = (
            await connection.execute(
                select(CheckIn.note, CheckIn.request, CheckIn.id).where(
                    CheckIn.user_id == ann.id, CheckIn.id != other.id
                )
            )
        ).one()
        await connection.execute(update(CheckIn).where(CheckIn.id == other.id).values(note=note))
        await connection.execute(
            update(CheckIn).where(CheckIn.id == checkin_id).values(note=request)
        )
    for moved in (other.id, checkin_id):
        async with sessionmaker() as session:
            with pytest.raises(crypto.EncryptionError):
                await session.get(CheckIn, moved)


@pytest.mark.slow
def test_rotate_keys_rewraps_every_data_key_from_the_command_line(tmp_path: Path) -> None:
    import json
    import sqlite3
    import subprocess

    database = tmp_path / "rotate.db"
    old, new = f"k1:{key(1)}", f"k2:{key(2)}"

    def run(*args: str, keys: str) -> dict[str, Any]:
        env = rapport_environment(database, encryption_keys=keys)
        done = subprocess.run(
            [*rapport_command(), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    user = run("create-user", "--email", "r@example.org", "--password", "x" * 12, keys=old)
    owner = uuid.UUID(user["id"])
    data_key = bytes([9]) * 32
    kek_id, wrapped = crypto.StaticKeyProvider(crypto.parse_keys(old)).wrap(data_key, owner)
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO data_keys (user_id, kek_id, wrapped_key, created_at) VALUES (?, ?, ?, ?)",
            (owner.hex, kek_id, wrapped, "2026-12-02 15:00:00.000000"),
        )

    report = run("rotate-keys", keys=f"{new},{old}")
    assert report == {"active_key": "k2", "rewrapped": 1, "data_keys_by_key": {"k2": 1}}
    with sqlite3.connect(database) as connection:
        kek_id, wrapped = connection.execute("SELECT kek_id, wrapped_key FROM data_keys").fetchone()
    assert kek_id == "k2"
    only_new = crypto.StaticKeyProvider(crypto.parse_keys(new))
    assert only_new.unwrap(kek_id, wrapped, owner) == data_key


async def test_a_data_key_made_in_a_rolled_back_savepoint_is_never_used(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: MakeUser
) -> None:
    ann = await make_user()
    today = datetime.now(UTC).date()
    async with sessionmaker() as session, session.begin():
        savepoint = await session.begin_nested()
        session.add(JournalEntry(user_id=ann.id, body="gone", local_date=today))
        await session.flush()  # makes Ann's data key, inside the savepoint
        await savepoint.rollback()
    assert crypto.cache.get(ann.id) is None
    async with sessionmaker() as session:
        assert await session.get(DataKey, ann.id) is None

    # A key made before a savepoint that rolls back, read again, is not cached either: the
    # outer transaction may still roll back.
    async with sessionmaker() as session, session.begin():
        first = JournalEntry(user_id=ann.id, body="first", local_date=today)
        session.add(first)
        await session.flush()
        first_id = first.id
        savepoint = await session.begin_nested()
        await savepoint.rollback()
        session.expire_all()
        again = await session.get(JournalEntry, first_id)
        assert again is not None and again.body == "first"
        await session.rollback()
    assert crypto.cache.get(ann.id) is None

    async with sessionmaker() as session, session.begin():
        entry = JournalEntry(user_id=ann.id, body="kept", local_date=today)
        session.add(entry)
    crypto.cache.evict(ann.id)
    async with sessionmaker() as session:
        stored = await session.get(JournalEntry, entry.id)
        assert stored is not None and stored.body == "kept"


async def test_streamed_rows_open_too(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: MakeUser
) -> None:
    """Exports stream: rows opened while the result is still being fetched, key uncached."""
    ann, bo = await make_user(), await make_user()
    today = datetime.now(UTC).date()
    async with sessionmaker() as session, session.begin():
        for n in range(30):
            owner = ann if n % 2 else bo
            session.add(JournalEntry(user_id=owner.id, body=f"entry {n}", local_date=today))
    crypto.cache.clear()
    async with sessionmaker() as session, session.begin():
        result = await session.stream_scalars(
            select(JournalEntry).execution_options(yield_per=4).order_by(JournalEntry.body)
        )
        bodies = [entry.body async for entry in result]
    assert sorted(bodies) == sorted(f"entry {n}" for n in range(30))


async def test_a_core_select_of_a_sealed_column_opens_through_open_values(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: MakeUser
) -> None:
    from app.core.encryption_orm import open_values

    ann = await make_user()
    async with sessionmaker() as session, session.begin():
        session.add(
            CheckIn(user_id=ann.id, mood=4, note="seen", local_date=datetime.now(UTC).date())
        )
    async with sessionmaker() as session:
        rows = (await session.execute(select(CheckIn.id, CheckIn.note, CheckIn.request))).all()
        assert crypto.is_sealed(rows[0].note) and rows[0].request is None
        notes = await open_values(session, CheckIn, "note", [(r.id, r.note) for r in rows])
        assert notes == ["seen"]


async def test_a_stored_response_for_a_token_of_nobody_is_sealed_without_a_users_row(
    app: FastAPI, client: httpx.AsyncClient, first_party_client: object
) -> None:
    nobody = uuid.uuid4()
    token, _ = app.state.tokens.issue(
        subject=str(nobody), client_id="rapport-mobile", scope="repair:write"
    )
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-nobody"}
    plans = "/v1/couples/me/repair-plans"
    first = await client.post(plans, json={"mutual": True}, headers=headers)
    again = await client.post(plans, json={"mutual": True}, headers=headers)
    assert first.status_code == again.status_code != 500, first.text
    assert again.headers.get("idempotent-replayed") == "true"
