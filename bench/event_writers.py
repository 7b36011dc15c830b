"""The event path without HTTP: W concurrent writers, each recording shared check-ins (one
`checkin.shared` event each) for a couple of its own, one transaction per check-in, in this
process, on PostgreSQL.

    python bench/event_writers.py [--writers 64] [--duration 5]

Through HTTP on one worker process the request's CPU bounds the write rate before any lock
does; here a transaction costs less CPU, so what bounds the rate is how transactions that
write events wait for each other: under a global advisory lock held until commit, one commit
(and its WAL flush) at a time; with the `xid` watermark, none. Run it on two commits to see
the difference (copy this file and its `bench_*` siblings into the older checkout). The
throwaway database is built as for `bench/run.py` and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fixture import HOST, Fixture, create_database, drop_database, populate  # noqa: E402


async def _write(fixture: Fixture, writers: int, duration: float) -> dict[str, float]:
    from app.core.security import MEMBER_SCOPES, Member
    from app.db import create_engine, create_sessionmaker
    from app.models.checkins import Visibility
    from app.schemas.checkins import CheckInIn
    from app.services.checkins import create_checkin

    engine = create_engine(fixture.sqlalchemy_url, pool_size=writers, max_overflow=0)
    sessionmaker = create_sessionmaker(engine)
    scopes = frozenset(scope.value for scope in MEMBER_SCOPES)
    members = [
        Member(user_id=uuid.UUID(user_id), client_id="rapport-mobile", scopes=scopes)
        for user_id in fixture.writer_ids[:writers]
    ]
    latencies: list[float] = []

    async def writer(member: Member, deadline: float) -> None:
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            data = CheckInIn(mood=4, visibility=Visibility.partner, note=f"Bench {n}")
            began = time.perf_counter()
            async with sessionmaker() as session, session.begin():
                await create_checkin(session, member, data, datetime.now(UTC))
            latencies.append((time.perf_counter() - began) * 1000)

    try:
        await asyncio.gather(*(writer(m, time.perf_counter() + 1.0) for m in members))  # warm-up
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(writer(m, started + duration) for m in members))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    latencies.sort()
    return {
        "transactions": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", f"postgresql://postgres@{HOST}:5432/postgres"),
    )
    args = parser.parse_args()
    if not 0 < args.duration <= 60 or not 1 <= args.writers <= 64:
        parser.error("keep it bounded: --duration in (0, 60], --writers in [1, 64]")
    admin = make_url(args.postgres)
    name = f"rapport_writers_{uuid.uuid4().hex[:10]}"
    database = admin.set(database=name)
    fixture = Fixture(
        admin_dsn=admin.render_as_string(hide_password=False),
        database=name,
        dsn=database.render_as_string(hide_password=False),
        sqlalchemy_url=database.set(drivername="postgresql+asyncpg").render_as_string(
            hide_password=False
        ),
    )
    asyncio.run(create_database(fixture.admin_dsn, name))
    try:
        asyncio.run(populate(fixture, f"http://{HOST}:8000"))
        result = asyncio.run(_write(fixture, args.writers, args.duration))
    finally:
        asyncio.run(drop_database(fixture.admin_dsn, name))
    print(
        f"{args.writers} writers, {result['transactions']:.0f} transactions in "
        f"{args.duration:.0f} s: {result['per_second']:.0f}/s, p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
