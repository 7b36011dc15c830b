"""Do the list endpoints stay flat as the tables grow? p95 of each on a small database and a
big one (both made by `bench/generate.py`), with every SELECT's plan recorded:

    python bench/generate.py --events 10000 --database rapport_flat_10k
    python bench/generate.py --events 10000000 --database rapport_flat_10m --jobs 2
    python bench/flat.py --small rapport_flat_10k --big rapport_flat_10m

For each database it runs the app in this process (lifespan included; requests go straight
to the ASGI app through httpx, one at a time, so the numbers are the app's and the database's,
not a server's), mints tokens for both partners of the first `--couples` couples (those whose
text `generate.py` sealed), and for each target sends `--warmup` then `--requests` requests,
rotating over the people:

- `checkins`: GET /v1/couples/me/checkins?limit=20 (the couple's shared check-ins);
- `my_checkins`: GET /v1/checkins?limit=20 (one's own);
- `journal`: GET /v1/journal?limit=20;
- `sync`: GET /v1/sync?limit=100 (the feed's first page, from the beginning);
- `insights`: GET /v1/couples/me/insights?window=30d.

It prints p50 and p95 per target and scale, and the ratio big / small of the p95 (the goal:
at most 1.5). Then, for one more request per target, it captures the statements the app sent
(SQLAlchemy's `before_cursor_execute`, and the hot reads' `statement_listeners`) and writes
`EXPLAIN (ANALYZE, BUFFERS)` of each SELECT, run with the same parameters, to
`bench/plans/<scale>-<target>.txt`; a sequential scan of a
big table is flagged on the console. The JSON summary goes to `bench/results/`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Environment, Settings  # noqa: E402
from app.main import create_app  # noqa: E402

PLANS = ROOT / "bench" / "plans"
RESULTS = ROOT / "bench" / "results"
DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SCOPES = "checkins:read journal:read couple:read insights:read answers:read"
TARGETS = {
    "checkins": "/v1/couples/me/checkins?limit=20",
    "my_checkins": "/v1/checkins?limit=20",
    "journal": "/v1/journal?limit=20",
    "sync": "/v1/sync?limit=100",
    "insights": "/v1/couples/me/insights?window=30d",
}
BIG_TABLES = ("events", "checkins", "answers", "daily_prompts", "journal_entries", "users")


@contextmanager
def captured(app: Any) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) the app sends while the block runs."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    def record_hot(statement: str, values: Any) -> None:  # the hot reads, past SQLAlchemy
        statements.append((statement, tuple(values)))

    engine = app.state.engine.sync_engine
    hot = app.state.hot_reader.statement_listeners
    event.listen(engine, "before_cursor_execute", record)
    hot.append(record_hot)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
        hot.remove(record_hot)


async def explain(app: Any, statements: list[tuple[str, Any]]) -> list[str]:
    plans = []
    async with app.state.engine.connect() as connection:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            result = await connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
            )
            plan = "\n".join(row[0] for row in result)
            plans.append(f"{statement}\n-- parameters: {parameters!r}\n{plan}\n")
        await connection.rollback()
    return plans


async def people(dsn: str, couples: int) -> list[str]:
    emails = [f"gen{n}{p}@example.org" for n in range(couples) for p in "ab"]
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT id FROM users WHERE email = ANY($1)", emails)
        total = await connection.fetchval("SELECT count(*) FROM events")
    finally:
        await connection.close()
    if not rows:
        raise SystemExit("no generated people: run bench/generate.py first")
    print(f"  {total:,} events; {len(rows)} people measured", flush=True)
    return [str(r[0]) for r in rows]


def _items(body: dict[str, Any]) -> int:
    """How many items the last response listed (a page's `data`; 0 for the insights)."""
    listed = body.get("data", body.get("items", body.get("events", [])))
    return len(listed) if isinstance(listed, list) else 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(admin: str, database: str, args: argparse.Namespace) -> dict[str, Any]:
    url = make_url(admin).set(database=database)
    dsn = url.render_as_string(hide_password=False)
    sqlalchemy_url = url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    print(f"{database}:", flush=True)
    ids = await people(dsn, args.couples)
    settings = Settings(
        environment=Environment.test,
        database_url=sqlalchemy_url,
        log_level="WARNING",
        log_json=False,
        seed_on_start=False,
        run_worker_in_process=False,
        rate_limit_per_token=None,
        rate_limit_per_ip=None,
        _env_file=None,
    )
    app = create_app(settings)
    report: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        tokens = [
            app.state.tokens.issue(subject=i, client_id="rapport-mobile", scope=SCOPES)[0]
            for i in ids
        ]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for target, path in TARGETS.items():
                if args.targets and target not in args.targets:
                    continue
                timings = []
                for n in range(args.warmup + args.requests):
                    headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                    began = time.perf_counter()
                    response = await client.get(path, headers=headers)
                    elapsed = (time.perf_counter() - began) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"{target}: {response.status_code} {response.text}")
                    if n >= args.warmup:
                        timings.append(elapsed)
                report[target] = {
                    "p50_ms": round(statistics.median(timings), 2),
                    "p95_ms": round(percentile(timings, 0.95), 2),
                    "items": _items(response.json()),
                }
                if not args.record_plans:
                    print(
                        f"  {target:12} p50 {report[target]['p50_ms']:7.2f} ms  "
                        f"p95 {report[target]['p95_ms']:7.2f} ms",
                        flush=True,
                    )
                    continue
                with captured(app) as statements:
                    await client.get(path, headers={"Authorization": f"Bearer {tokens[0]}"})
                plans = await explain(app, statements)
                PLANS.mkdir(exist_ok=True)
                (PLANS / f"{args.label(database)}-{target}.txt").write_text("\n".join(plans))
                scans = [
                    table
                    for plan in plans
                    for table in BIG_TABLES
                    if f"Seq Scan on {table} " in plan
                    or plan.rstrip().endswith(f"Seq Scan on {table}")
                ]
                flag = f"  SEQUENTIAL SCAN of {sorted(set(scans))}" if scans else ""
                print(
                    f"  {target:12} p50 {report[target]['p50_ms']:7.2f} ms  "
                    f"p95 {report[target]['p95_ms']:7.2f} ms  {len(plans)} SELECTs{flag}",
                    flush=True,
                )
    return report


def _medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target, the median over the rounds of each figure (the items of the first)."""
    return {
        target: {
            key: statistics.median(r[target][key] for r in rounds) if key != "items" else value
            for key, value in figures.items()
        }
        for target, figures in rounds[0].items()
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    smalls, bigs = [], []
    for n in range(args.rounds):  # interleaved: the machine's load falls on both alike
        args.record_plans = n == 0
        print(f"round {n + 1} of {args.rounds}")
        smalls.append(await measure(args.postgres, args.small, args))
        if args.big:
            bigs.append(await measure(args.postgres, args.big, args))
    small = _medians(smalls)
    big = _medians(bigs) if bigs else {}
    summary: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load": os.getloadavg(),
        "rounds": args.rounds,
        "small": {"database": args.small, **small, "every_round": smalls},
        "big": {"database": args.big, **big, "every_round": bigs},
    }
    if big:
        print(f"medians of {args.rounds} rounds; p95 big / small (goal <= 1.5):")
        for target in small:
            ratio = big[target]["p95_ms"] / small[target]["p95_ms"]
            summary.setdefault("ratios", {})[target] = round(ratio, 2)
            print(
                f"  {target:12} p95 {small[target]['p95_ms']:7.2f} -> "
                f"{big[target]['p95_ms']:7.2f} ms  {ratio:.2f}"
            )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--small", default="rapport_flat_10k")
    parser.add_argument("--big", default=None)
    parser.add_argument("--couples", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--targets", nargs="*", choices=sorted(TARGETS))
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN))
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000 or not 1 <= args.rounds <= 10:
        parser.error("keep it bounded: --requests in [1, 5000], --rounds in [1, 10]")
    labels = {args.small: "small", args.big: "big"}
    args.label = lambda database: labels[database]
    summary = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"flat-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
