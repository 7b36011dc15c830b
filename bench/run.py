"""Load benchmark: Rapport against the bare Starlette + asyncpg ceiling, in one run.

    python bench/run.py [--duration 10] [--rounds 3] [--connections 64]

What it does (see bench/README.md):

1. creates a throwaway PostgreSQL database (dropped at the end, also on failure), migrates it,
   and creates USERS users through the service layer, each with a real access token minted
   by the app's TokenService from a signing key the server is given (RAPPORT_SIGNING_KEY);
2. starts `rapport serve` and `uvicorn bench.ceiling:app` on loopback, both pinned to CPU 0
   when `taskset` exists, and the load generator on CPU 1;
3. drives, in interleaved rounds, each target for `--duration` seconds after a short warm-up:
   (a) `GET /v1/me`, (b) `PATCH /v1/me` (a write that records a `user.updated` event),
   (c) `GET /v1/couples/me/prompts/today` and (d) `GET /v1/couples/me/checkins?limit=20` for
   64 couples with a year of history (bench_couples.py), (e) `POST /v1/checkins` shared with
   the partner (a `checkin.shared` event) by one partner of each of the 64 couples, and
   (f) the ceiling reading the same users' rows; requests rotate over the users, so writes
   do not queue on one row lock (`--targets` picks a subset; the ceiling always runs);
4. prints requests/s, p50, p99 and the ratio to the ceiling (medians over the rounds), and
   writes the same as JSON into bench/results/ (git-ignored).

The load generator is wrk when installed (`apt-get install wrk`), else a small asyncio + httpx
generator built in here (slower than wrk: it can become the bottleneck near the ceiling).
Every load run is bounded in time; only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_fixture import (  # noqa: E402
    HOST,
    USERS,
    Fixture,
    app_environment,
    create_database,
    drop_database,
    populate,
)
from bench_load import (  # noqa: E402
    cpu_seconds,
    free_port,
    pinned,
    postgres_cpu_seconds,
    postgres_cpu_since,
    run_python_load,
    run_wrk,
    sampled,
    server,
    wait_until_idle,
    wrk_script,
)

RESULTS = ROOT / "bench" / "results"
TARGETS = ("get_me", "patch_me", "today", "checkins", "post_checkin", "ceiling")
DESCRIPTIONS = {
    "get_me": "GET /v1/me (bearer token)",
    "patch_me": "PATCH /v1/me (+ user.updated event)",
    "today": "GET /v1/couples/me/prompts/today (1 year)",
    "checkins": "GET /v1/couples/me/checkins?limit=20",
    "post_checkin": "POST /v1/checkins shared (64 couples)",
    "ceiling": "ceiling: Starlette + asyncpg by id",
}


@dataclass
class Measurement:
    target: str
    round: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    generator: str
    server_cpu: float
    """The serving process's CPU time over the measurement, as a share of one core."""
    postgres_cpu: float
    """PostgreSQL's CPU time over the measurement, as a share of one core (a lower bound)."""


# --- the run -----------------------------------------------------------------------------------


def _machine(load_average: tuple[float, float, float] | None) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": load_average,
    }


def _summary(measurements: list[Measurement], targets: list[str]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for target in targets:
        rows = [m for m in measurements if m.target == target]
        summary[target] = {
            "description": DESCRIPTIONS[target],
            "rps": statistics.median(m.rps for m in rows),
            "p50_ms": statistics.median(m.p50_ms for m in rows),
            "p99_ms": statistics.median(m.p99_ms for m in rows),
            "errors": sum(m.errors for m in rows),
            "requests": sum(m.requests for m in rows),
            "server_cpu": statistics.median(m.server_cpu for m in rows),
            "postgres_cpu": statistics.median(m.postgres_cpu for m in rows),
        }
    ceiling = summary["ceiling"]["rps"] or 1.0
    for values in summary.values():
        values["ratio"] = values["rps"] / ceiling
    return summary


def _table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"{'target':<40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'errors':>7}"
        f" {'server CPU':>11}",
        "-" * 95,
    ]
    for values in summary.values():
        lines.append(
            f"{values['description']:<40} {values['rps']:>9.0f} {values['p50_ms']:>8.2f} "
            f"{values['p99_ms']:>8.2f} {values['ratio']:>6.2f} {values['errors']:>7}"
            f" {values['server_cpu']:>11.0%}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per target")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", f"postgresql://postgres@{HOST}:5432/postgres"),
        help="an administrative connection, used to create and drop the throwaway database",
    )
    parser.add_argument(
        "--generator", choices=("auto", "wrk", "python"), default="auto", help="load generator"
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated subset of {', '.join(TARGETS)} (the ceiling always runs)",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during each target's first round into DIR "
        "(read them with bench/spy_top.py; the sampler shares the load generator's CPU)",
    )
    args = parser.parse_args()
    if args.py_spy is not None and not shutil.which("py-spy"):
        parser.error("py-spy is not installed (pip install py-spy)")
    targets = [t for t in TARGETS if t in args.targets.split(",") or t == "ceiling"]
    unknown = set(args.targets.split(",")) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    load_average = os.getloadavg() if hasattr(os, "getloadavg") else None
    if not 0 < args.duration <= 120 or not 0 < args.rounds <= 10:
        parser.error("keep it bounded: --duration in (0, 120], --rounds in [1, 10]")

    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    elif generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    two_cores = (os.cpu_count() or 1) >= 2
    server_cpu, load_cpu = (0, 1) if two_cores else (None, None)

    admin = make_url(args.postgres)
    name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
    database = admin.set(database=name)
    fixture = Fixture(
        admin_dsn=admin.render_as_string(hide_password=False),
        database=name,
        dsn=database.render_as_string(hide_password=False),
        sqlalchemy_url=database.set(drivername="postgresql+asyncpg").render_as_string(
            hide_password=False
        ),
    )
    app_port, ceiling_port = free_port(), free_port()
    public_url = f"http://{HOST}:{app_port}"
    bases = {target: public_url for target in TARGETS}
    bases["ceiling"] = f"http://{HOST}:{ceiling_port}"

    print(f"creating database {name}", file=sys.stderr)
    asyncio.run(create_database(fixture.admin_dsn, name))
    measurements: list[Measurement] = []
    try:
        asyncio.run(populate(fixture, public_url))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
        env.update(app_environment(fixture, public_url), BENCH_CEILING_DSN=fixture.dsn)
        rapport_cmd = [sys.executable, "-m", "app.cli", "serve", "--host", HOST]
        ceiling_cmd = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--host", HOST]
        with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
            logs = Path(tmp)
            with (
                server(
                    pinned([*rapport_cmd, "--port", str(app_port)], server_cpu),
                    env,
                    f"{public_url}/readyz",
                    logs / "rapport.log",
                ) as rapport,
                server(
                    pinned(
                        [
                            *ceiling_cmd,
                            "--port",
                            str(ceiling_port),
                            "--no-access-log",
                            "--log-level",
                            "warning",
                        ],
                        server_cpu,
                    ),
                    env,
                    f"{bases['ceiling']}/healthz",
                    logs / "ceiling.log",
                ) as ceiling,
            ):
                scripts = {t: wrk_script(t, fixture, logs) for t in targets}

                def load(target: str, seconds: float) -> dict[str, Any]:
                    if generator == "wrk":
                        return run_wrk(
                            bases[target], scripts[target], seconds, args.connections, load_cpu
                        )
                    return run_python_load(
                        bases[target], target, fixture, seconds, args.connections, load_cpu
                    )

                for target in targets:
                    load(target, args.warmup)
                for n in range(1, args.rounds + 1):
                    for target in targets:
                        spied = args.py_spy is not None and n == 1 and target != "ceiling"
                        output = args.py_spy / f"{target}.txt" if spied else None
                        if output is not None:
                            output.parent.mkdir(parents=True, exist_ok=True)
                        pid = ceiling.pid if target == "ceiling" else rapport.pid
                        wait_until_idle(pid)
                        before = cpu_seconds(pid), postgres_cpu_seconds()
                        with sampled(rapport.pid, output, args.duration):
                            result = load(target, args.duration)
                        server_share = (cpu_seconds(pid) - before[0]) / result["seconds"]
                        postgres_cpu = postgres_cpu_since(before[1]) / result["seconds"]
                        measurements.append(
                            Measurement(
                                target=target,
                                round=n,
                                generator=generator,
                                server_cpu=server_share,
                                postgres_cpu=postgres_cpu,
                                **result,
                            )
                        )
                        print(
                            f"round {n} {target:<12} {result['rps']:>8.0f} req/s  "
                            f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  "
                            f"errors {result['errors']}  server CPU {server_share:.0%}  "
                            f"PostgreSQL CPU {postgres_cpu:.0%}",
                            file=sys.stderr,
                        )
    finally:
        print(f"dropping database {name}", file=sys.stderr)
        asyncio.run(drop_database(fixture.admin_dsn, name))

    summary = _summary(measurements, targets)
    print(_table(summary))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "at": stamp,
        "machine": _machine(load_average),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "connections": args.connections,
            "generator": generator,
            "server_cpu": server_cpu,
            "load_cpu": load_cpu,
            "users": USERS,
            "targets": targets,
        },
        "summary": summary,
        "measurements": [asdict(m) for m in measurements],
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
