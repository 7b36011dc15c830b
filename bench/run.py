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
   (c) the ceiling reading the same users' rows; requests rotate over the users, so writes
   do not queue on one row lock;
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
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.keys import KeyRing, generate_key  # noqa: E402
from app.core.tokens import TokenService  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
USERS = 64
BENCH_PASSWORD = "a long enough bench passphrase"  # noqa: S105 - throwaway users
TOKEN_TTL_SECONDS = 3600
TARGETS = ("get_me", "patch_me", "ceiling")
DESCRIPTIONS = {
    "get_me": "GET /v1/me (bearer token)",
    "patch_me": "PATCH /v1/me (+ user.updated event)",
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


@dataclass
class Fixture:
    admin_dsn: str
    database: str
    dsn: str
    sqlalchemy_url: str
    user_ids: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    signing_key_json: str = ""


# --- the throwaway database ---------------------------------------------------------------


async def _create_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _populate(fixture: Fixture, public_url: str) -> None:
    """Migrate, create the users through the service layer, and mint their tokens."""
    from app.core.passwords import Passwords
    from app.db import create_engine, create_sessionmaker
    from app.migrate import upgrade_async
    from app.schemas.users import UserCreate
    from app.services.users import create_user

    await upgrade_async(fixture.sqlalchemy_url)
    engine = create_engine(fixture.sqlalchemy_url)
    # The bench's own users need no strong password hashes (the server never checks them).
    passwords = Passwords(time_cost=1, memory_kib=8)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for n in range(USERS):
                data = UserCreate(
                    email=f"bench{n}@example.org",
                    password=BENCH_PASSWORD,
                    display_name=f"Bench {n}",
                )
                user = await create_user(session, data, passwords=passwords)
                fixture.user_ids.append(str(user.id))
    finally:
        await engine.dispose()

    key = generate_key()
    fixture.signing_key_json = json.dumps(key.as_dict(private=True))
    keys = KeyRing(access_token_ttl=timedelta(seconds=TOKEN_TTL_SECONDS))
    keys.use_static_key(key)
    tokens = TokenService(
        keys, issuer=public_url, audience=public_url, ttl_seconds=TOKEN_TTL_SECONDS
    )
    for user_id in fixture.user_ids:
        token, _ = tokens.issue(subject=user_id, client_id="rapport-mobile", scope="profile")
        fixture.tokens.append(token)


# --- servers --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _pinned(command: list[str], cpu: int | None) -> list[str]:
    if cpu is not None and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *command]
    return command


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server behind {url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_ready(ready_url, process)
            yield
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- load generators -------------------------------------------------------------------------

_LUA = """
local tokens = {%(tokens)s}
local ids = {%(ids)s}
local counter = 0
request = function()
  counter = counter + 1
  local i = (counter %% #tokens) + 1
  %(body)s
end
"""
_LUA_BODIES = {
    "get_me": 'return wrk.format("GET", "/v1/me", {["Authorization"] = "Bearer " .. tokens[i]})',
    "patch_me": (
        'return wrk.format("PATCH", "/v1/me", {["Authorization"] = "Bearer " .. tokens[i], '
        '["Content-Type"] = "application/json"}, '
        "'{\"display_name\": \"Bench ' .. counter .. '\"}')"
    ),
    "ceiling": 'return wrk.format("GET", "/users/" .. ids[i])',
}
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_script(target: str, fixture: Fixture, directory: Path) -> Path:
    script = directory / f"{target}.lua"
    script.write_text(
        _LUA
        % {
            "tokens": ", ".join(f'"{t}"' for t in fixture.tokens),
            "ids": ", ".join(f'"{i}"' for i in fixture.user_ids),
            "body": _LUA_BODIES[target],
        },
        encoding="utf-8",
    )
    return script


def _parse_duration(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    base_url: str, script: Path, duration: float, connections: int, cpu: int | None
) -> dict[str, Any]:
    command = _pinned(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(script),
            base_url,
        ],
        cpu,
    )
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=True
    )
    out = completed.stdout
    requests_match = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if not (requests_match and rps_match and p50 and p99):
        raise RuntimeError(f"could not read wrk's output:\n{out}\n{completed.stderr}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "requests": int(requests_match.group(1)),
        "seconds": _parse_duration(requests_match.group(2) + requests_match.group(3)) / 1000,
        "rps": float(rps_match.group(1)),
        "p50_ms": _parse_duration(p50.group(1)),
        "p99_ms": _parse_duration(p99.group(1)),
        "errors": errors,
    }


async def _python_load(
    base_url: str, target: str, fixture: Fixture, duration: float, connections: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    counter = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=5) as client:
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                i = counter % len(fixture.tokens)
                auth = {"Authorization": f"Bearer {fixture.tokens[i]}"}
                began = time.perf_counter()
                try:
                    if target == "get_me":
                        response = await client.get("/v1/me", headers=auth)
                    elif target == "patch_me":
                        response = await client.patch(
                            "/v1/me", headers=auth, json={"display_name": f"Bench {counter}"}
                        )
                    else:
                        response = await client.get(f"/users/{fixture.user_ids[i]}")
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - began) * 1000)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "errors": errors,
    }


def run_python_load(
    base_url: str, target: str, fixture: Fixture, duration: float, connections: int, cpu: int | None
) -> dict[str, Any]:
    previous = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cpu is not None and previous is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        return asyncio.run(_python_load(base_url, target, fixture, duration, connections))
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)


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


def _summary(measurements: list[Measurement]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for target in TARGETS:
        rows = [m for m in measurements if m.target == target]
        summary[target] = {
            "description": DESCRIPTIONS[target],
            "rps": statistics.median(m.rps for m in rows),
            "p50_ms": statistics.median(m.p50_ms for m in rows),
            "p99_ms": statistics.median(m.p99_ms for m in rows),
            "errors": sum(m.errors for m in rows),
            "requests": sum(m.requests for m in rows),
        }
    ceiling = summary["ceiling"]["rps"] or 1.0
    for values in summary.values():
        values["ratio"] = values["rps"] / ceiling
    return summary


def _table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"{'target':<40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'errors':>7}",
        "-" * 83,
    ]
    for values in summary.values():
        lines.append(
            f"{values['description']:<40} {values['rps']:>9.0f} {values['p50_ms']:>8.2f} "
            f"{values['p99_ms']:>8.2f} {values['ratio']:>6.2f} {values['errors']:>7}"
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
    args = parser.parse_args()
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
    app_port, ceiling_port = _free_port(), _free_port()
    public_url = f"http://{HOST}:{app_port}"
    bases = {
        "get_me": public_url,
        "patch_me": public_url,
        "ceiling": f"http://{HOST}:{ceiling_port}",
    }

    print(f"creating database {name}", file=sys.stderr)
    asyncio.run(_create_database(fixture.admin_dsn, name))
    measurements: list[Measurement] = []
    try:
        asyncio.run(_populate(fixture, public_url))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
        env.update(
            RAPPORT_DATABASE_URL=fixture.sqlalchemy_url,
            RAPPORT_PUBLIC_URL=public_url,
            RAPPORT_SIGNING_KEY=fixture.signing_key_json,
            RAPPORT_ACCESS_TOKEN_TTL_SECONDS=str(TOKEN_TTL_SECONDS),
            RAPPORT_LOG_LEVEL="WARNING",
            BENCH_CEILING_DSN=fixture.dsn,
        )
        rapport_cmd = [sys.executable, "-m", "app.cli", "serve", "--host", HOST]
        ceiling_cmd = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--host", HOST]
        with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
            logs = Path(tmp)
            with (
                _server(
                    _pinned([*rapport_cmd, "--port", str(app_port)], server_cpu),
                    env,
                    f"{public_url}/readyz",
                    logs / "rapport.log",
                ),
                _server(
                    _pinned(
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
                ),
            ):
                scripts = {t: _wrk_script(t, fixture, logs) for t in TARGETS}

                def load(target: str, seconds: float) -> dict[str, Any]:
                    if generator == "wrk":
                        return run_wrk(
                            bases[target], scripts[target], seconds, args.connections, load_cpu
                        )
                    return run_python_load(
                        bases[target], target, fixture, seconds, args.connections, load_cpu
                    )

                for target in TARGETS:
                    load(target, args.warmup)
                for n in range(1, args.rounds + 1):
                    for target in TARGETS:
                        result = load(target, args.duration)
                        measurements.append(
                            Measurement(target=target, round=n, generator=generator, **result)
                        )
                        print(
                            f"round {n} {target:<9} {result['rps']:>8.0f} req/s  "
                            f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  "
                            f"errors {result['errors']}",
                            file=sys.stderr,
                        )
    finally:
        print(f"dropping database {name}", file=sys.stderr)
        asyncio.run(_drop_database(fixture.admin_dsn, name))

    summary = _summary(measurements)
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
