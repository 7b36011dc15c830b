"""Peak memory of building a personal data export, as the account grows.

    python bench/export_memory.py [--sizes 1000 10000]

For each size, a throwaway SQLite database (in a temporary directory, removed at the end) is
migrated and given one person with that many items of their own writing — half check-ins,
half journal entries, each with a note or body of a few hundred characters — written through
the ORM. The archive is then built in process, exactly as the `run_exports` job builds it
(`write_archive` into the encrypted `SealedWriter`), under `tracemalloc`; the script prints
the peak of Python allocations during the build, the archive's size and the time taken.
Streaming holds when the peak stays flat while the archive grows tenfold.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import create_engine, create_sessionmaker  # noqa: E402
from app.migrate import upgrade_async  # noqa: E402
from app.models import CheckIn, JournalEntry, User, Visibility  # noqa: E402
from app.services.exports_archive import write_archive  # noqa: E402
from app.services.exports_cipher import SealedWriter, new_key  # noqa: E402

START = datetime(2020, 1, 1, tzinfo=UTC)
BATCH = 1000
TEXT = "Today I noticed the pattern again, and I wrote it down so I can see it. " * 4


@dataclass(frozen=True)
class Measure:
    items: int
    peak_kib: float
    archive_kib: float
    seconds: float


async def _fill(url: str, items: int) -> uuid.UUID:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    user_id = uuid.uuid4()
    try:
        async with sessionmaker() as session, session.begin():
            session.add(
                User(
                    id=user_id,
                    email="bench@example.org",
                    email_normalized="bench@example.org",
                    password_hash="!",  # noqa: S106 - no password matches it
                    display_name="Bench",
                    timezone="UTC",
                    locale="en",
                )
            )
        for start in range(0, items, BATCH):
            async with sessionmaker() as session, session.begin():
                for n in range(start, min(start + BATCH, items)):
                    moment = START + timedelta(minutes=n)
                    day = date(2020, 1, 1) + timedelta(days=n // 24)
                    if n % 2:
                        session.add(
                            CheckIn(
                                user_id=user_id,
                                mood=1 + n % 5,
                                emotions=[],
                                needs=[],
                                note=f"{n} {TEXT}",
                                visibility=Visibility.private,
                                local_date=day,
                                created_at=moment,
                                updated_at=moment,
                            )
                        )
                    else:
                        session.add(
                            JournalEntry(
                                user_id=user_id,
                                body=f"{n} {TEXT}",
                                pattern_tags=[],
                                emotions=[],
                                local_date=day,
                                created_at=moment,
                                updated_at=moment,
                            )
                        )
    finally:
        await engine.dispose()
    return user_id


async def _build(url: str, user_id: uuid.UUID, directory: Path) -> Measure:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    export_id = uuid.uuid4()
    path = directory / f"{export_id}.1.rpx"
    try:
        tracemalloc.start()
        began = time.perf_counter()
        writer = SealedWriter(path, new_key(), export_id)
        async with sessionmaker() as session:
            await write_archive(session, writer, user_id, export_id, datetime.now(UTC))
        writer.close()
        seconds = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await engine.dispose()
    return Measure(0, peak / 1024, writer.plaintext_size / 1024, seconds)


async def measure(items: int) -> Measure:
    with tempfile.TemporaryDirectory(prefix="rapport-bench-export-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade_async(url)
        user_id = await _fill(url, items)
        result = await _build(url, user_id, Path(tmp))
        return Measure(items, result.peak_kib, result.archive_kib, result.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    sizes: list[int] = [size for size in args.sizes if 0 < size <= 200_000]
    print(f"{'items':>8} {'archive KiB':>12} {'peak KiB':>10} {'seconds':>8}")
    for size in sizes:
        result = asyncio.run(measure(size))
        print(
            f"{result.items:>8} {result.archive_kib:>12.0f} {result.peak_kib:>10.0f} "
            f"{result.seconds:>8.2f}"
        )


if __name__ == "__main__":
    main()
