"""Latency of GET /v1/couples/me/insights for a couple with five years of daily activity.

    python bench/insights.py [--years 5] [--requests 200] [--database-url postgresql+asyncpg://…]

Creates a throwaway PostgreSQL database (dropped at the end, also on failure), migrates it,
writes a couple's history straight into the tables (a revealed prompt, two answers and a
reflection every day; one or two check-ins a day per partner, most shared), adds other
couples so the tables are not the couple's alone, then calls the endpoint in-process (httpx
over ASGI) for the 30-day and 365-day windows and prints p50/p95/p99. The target is a p95
under 50 ms on PostgreSQL. Only loopback is used; the request loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Environment, Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrate import upgrade_async  # noqa: E402
from app.models import (  # noqa: E402
    Answer,
    Couple,
    CoupleMember,
    DailyPrompt,
    PromptVersion,
    Reflection,
    User,
)
from app.models.checkins import CheckIn  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RESULTS = ROOT / "bench" / "results"


async def _admin(url: str, statement: str) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _users(n: int) -> list[dict[str, object]]:
    return [
        {
            "id": uuid.uuid4(),
            "email": f"bench{i}-{uuid.uuid4().hex[:6]}@example.org",
            "email_normalized": f"bench{i}-{uuid.uuid4().hex}@example.org",
            "password_hash": "x",
            "display_name": f"Bench {i}",
            "timezone": "Europe/Paris",
            "locale": "en",
            "role": "member",
            "created_at": datetime.now(UTC),
            "updated_at": datetime.now(UTC),
        }
        for i in range(n)
    ]


async def _history(app: object, couple_id: uuid.UUID, pair: list[uuid.UUID], days: int) -> None:
    sessionmaker = app.state.sessionmaker  # type: ignore[attr-defined]
    async with sessionmaker() as session:
        versions = list(await session.scalars(select(PromptVersion)))
    rng = random.Random(couple_id.int)
    today = date.today()
    dailies, answers, reflections, checkins = [], [], [], []
    for offset in range(days):
        day = today - timedelta(days=offset)
        moment = datetime(day.year, day.month, day.day, 20, tzinfo=UTC)
        version = rng.choice(versions)
        daily_id = uuid.uuid4()
        dailies.append(
            {
                "id": daily_id,
                "couple_id": couple_id,
                "local_date": day,
                "prompt_id": version.prompt_id,
                "prompt_version_id": version.id,
                "cycle": 1 + offset // len(versions),
                "assigned_at": moment,
                "revealed_at": moment,
            }
        )
        for author in pair:
            answer_id = uuid.uuid4()
            answers.append(
                {
                    "id": answer_id,
                    "daily_prompt_id": daily_id,
                    "couple_id": couple_id,
                    "user_id": author,
                    "prompt_version_id": version.id,
                    "text": "an answer " * 20,
                    "revealed_at": moment,
                    "created_at": moment,
                    "updated_at": moment,
                }
            )
            listener = pair[1] if author == pair[0] else pair[0]
            if rng.random() < 0.6:
                reflections.append(
                    {
                        "id": uuid.uuid4(),
                        "target_type": "answer",
                        "target_id": answer_id,
                        "couple_id": couple_id,
                        "author_id": listener,
                        "kind": "reflect",
                        "text": "I hear you",
                        "created_at": moment + timedelta(hours=1),
                    }
                )
            for _ in range(rng.choice((1, 2))):
                shared = rng.random() < 0.7
                checkins.append(
                    {
                        "id": uuid.uuid4(),
                        "user_id": author,
                        "couple_id": couple_id,
                        "mood": rng.randint(1, 5),
                        "emotions": [],
                        "needs": [],
                        "note": None,
                        "request": None,
                        "visibility": "partner" if shared else "private",
                        "local_date": day,
                        "shared_at": moment if shared else None,
                        "created_at": moment,
                        "updated_at": moment,
                    }
                )
    async with sessionmaker() as session, session.begin():
        for model, rows in (
            (DailyPrompt, dailies),
            (Answer, answers),
            (Reflection, reflections),
            (CheckIn, checkins),
        ):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(model), rows[start : start + 2000])


async def run(args: argparse.Namespace) -> dict[str, object]:
    name = f"rapport_bench_insights_{uuid.uuid4().hex[:8]}"
    url = str(make_url(args.database_url).set(database=name).render_as_string(hide_password=False))
    await _admin(args.database_url, f'CREATE DATABASE "{name}"')
    try:
        await upgrade_async(url)
        settings = Settings(
            environment=Environment.test,
            database_url=url,
            log_level="WARNING",
            _env_file=None,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            from app.services.seed import seed

            async with app.state.sessionmaker() as session, session.begin():
                await seed(session)
            days = int(args.years * 365.25)
            couples = []
            async with app.state.sessionmaker() as session, session.begin():
                users = _users(2 * (1 + args.other_couples))
                await session.execute(insert(User), users)
                for i in range(0, len(users), 2):
                    couple_id = uuid.uuid4()
                    await session.execute(
                        insert(Couple),
                        [
                            {
                                "id": couple_id,
                                "status": "active",
                                "created_by": users[i]["id"],
                                "timezone": "Europe/Paris",
                                "locale": "en",
                                "enabled_libraries": [],
                                "max_depth": 3,
                                "created_at": datetime.now(UTC),
                                "updated_at": datetime.now(UTC),
                            }
                        ],
                    )
                    await session.execute(
                        insert(CoupleMember),
                        [
                            {
                                "id": uuid.uuid4(),
                                "couple_id": couple_id,
                                "user_id": users[i + j]["id"],
                                "active_user_id": users[i + j]["id"],
                                "joined_at": datetime.now(UTC),
                            }
                            for j in (0, 1)
                        ],
                    )
                    couples.append((couple_id, [users[i]["id"], users[i + 1]["id"]]))
            started = time.perf_counter()
            for couple_id, pair in couples:
                await _history(app, couple_id, pair, days)  # type: ignore[arg-type]
            elapsed = time.perf_counter() - started
            print(f"wrote {len(couples)} couples x {days} days in {elapsed:.1f}s")
            async with app.state.engine.connect() as connection:
                await connection.exec_driver_sql("ANALYZE")
            viewer = couples[0][1][0]
            token, _ = app.state.tokens.issue(
                subject=str(viewer), client_id="rapport-mobile", scope="insights:read"
            )
            headers = {"Authorization": f"Bearer {token}"}
            report: dict[str, object] = {"years": args.years, "days": days, "couples": len(couples)}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for window in ("30d", "365d"):
                    for _ in range(10):  # warm-up
                        await client.get(
                            f"/v1/couples/me/insights?window={window}", headers=headers
                        )
                    timings = []
                    for _ in range(args.requests):
                        begin = time.perf_counter()
                        response = await client.get(
                            f"/v1/couples/me/insights?window={window}", headers=headers
                        )
                        timings.append((time.perf_counter() - begin) * 1000)
                        response.raise_for_status()
                    timings.sort()
                    report[window] = {
                        "p50_ms": round(statistics.median(timings), 2),
                        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
                        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 2),
                    }
        return report
    finally:
        await _admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--other-couples", type=int, default=4)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"insights-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps(report, indent=2)
    )


if __name__ == "__main__":
    main()
