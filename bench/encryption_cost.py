"""What encryption at rest costs a list read: 20 journal entries and 20 check-ins, in process.

    python -m bench.encryption_cost [--database-url URL] [--rounds 300]

Writes 20 entries and 20 check-ins for one person sealed (the app's way) and for another with
encryption switched off (clear rows), then times loading each list through the ORM, each
round in its own reading session as a GET does. The data key is cached after the first read,
as in a running server; `--cold` evicts it before every round (a cache miss each time).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.core import crypto
from app.db import create_engine, create_sessionmaker
from app.migrate import upgrade_async
from app.models import CheckIn, JournalEntry, User

ENCRYPTED: tuple[type[Any], ...] = (JournalEntry, CheckIn)
TEXT = "Today I noticed I went quiet when we talked about money, and I want to say why. " * 3


async def _person(sessionmaker: Any, *, sealed: bool) -> uuid.UUID:
    saved = {cls: cls.__dict__["__encrypted__"] for cls in ENCRYPTED}
    if not sealed:
        for cls in ENCRYPTED:
            cls.__encrypted__ = {}
    try:
        user_id = uuid.uuid4()
        async with sessionmaker() as session, session.begin():
            session.add(
                User(
                    id=user_id,
                    email=f"{user_id}@example.org",
                    email_normalized=f"{user_id}@example.org",
                    password_hash="!",  # noqa: S106 - no password matches it
                    display_name="P",
                    timezone="UTC",
                    locale="en",
                )
            )
            await session.flush()
            today = date(2026, 12, 2)
            for n in range(20):
                session.add(JournalEntry(user_id=user_id, body=f"{n} {TEXT}", local_date=today))
                session.add(CheckIn(user_id=user_id, mood=3, note=f"{n} {TEXT}", local_date=today))
        return user_id
    finally:
        for cls, fields in saved.items():
            cls.__encrypted__ = fields


async def _time(
    reading: Any, user_id: uuid.UUID, model: type[Any], rounds: int, cold: bool
) -> float:
    samples: list[float] = []
    for _ in range(rounds):
        if cold:
            crypto.cache.evict(user_id)
        started = time.perf_counter()
        async with reading() as session:
            rows = (
                await session.scalars(
                    select(model)
                    .where(model.user_id == user_id)
                    .order_by(model.created_at.desc())
                    .limit(20)
                )
            ).all()
        samples.append(time.perf_counter() - started)
        assert len(rows) == 20
    return statistics.median(samples) * 1000


async def main(database_url: str | None, rounds: int, cold: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'cost.db'}"
        await upgrade_async(url)
        crypto.configure(crypto.StaticKeyProvider({"bench": bytes(32)}))
        engine = create_engine(url)
        try:
            sessionmaker = create_sessionmaker(engine)
            reading = create_sessionmaker(engine, reading=True)
            sealed = await _person(sessionmaker, sealed=True)
            clear = await _person(sessionmaker, sealed=False)
            for model in ENCRYPTED:
                await _time(reading, sealed, model, 20, cold)  # warm up
                with_ms = await _time(reading, sealed, model, rounds, cold)
                without_ms = await _time(reading, clear, model, rounds, cold)
                print(
                    f"{engine.dialect.name} {model.__tablename__}: 20 rows "
                    f"{without_ms:.3f} ms clear, {with_ms:.3f} ms sealed "
                    f"(+{with_ms - without_ms:.3f} ms, {with_ms / without_ms:.2f}x)"
                    f"{' cold key' if cold else ''} at {datetime.now(UTC):%H:%M}"
                )
        finally:
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--cold", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.database_url, arguments.rounds, arguments.cold))
