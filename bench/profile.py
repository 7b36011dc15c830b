"""Where one request's time goes: N in-process requests of one bench target under pyinstrument.

    python bench/profile.py --target get_me [--requests 2000] [--top 30]

It builds the same throwaway PostgreSQL database as `bench/run.py` (64 profile users, 64
couples with a year of history; dropped at the end, also on failure), runs the app's lifespan
in this process, and sends the target's requests one at a time straight to the ASGI app (no
HTTP server, no socket): what is left is the app's own work and its database round trips.
It prints the mean time per request without the profiler (wall clock, and this process's
CPU: on one server core the CPU is what bounds throughput), then pyinstrument's functions by
their own (wall-clock) time and by their total time, the top `--top` of each.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fixture import (  # noqa: E402
    HOST,
    Fixture,
    app_environment,
    create_database,
    drop_database,
    populate,
)
from bench_load import CHECKIN_BODY, tokens_for  # noqa: E402

TARGETS = ("get_me", "patch_me", "today", "checkins", "post_checkin")
PUBLIC_URL = f"http://{HOST}:8000"
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


def _request(target: str, n: int) -> tuple[str, str, bytes, bytes]:
    """(method, path, query string, JSON body) of the target's n-th request."""
    if target == "get_me":
        return "GET", "/v1/me", b"", b""
    if target == "patch_me":
        return "PATCH", "/v1/me", b"", b'{"display_name": "Bench %d"}' % n
    if target == "today":
        return "GET", "/v1/couples/me/prompts/today", b"", b""
    if target == "checkins":
        return "GET", "/v1/couples/me/checkins", b"limit=20", b""
    body = {**CHECKIN_BODY, "note": f"Bench {n}"}
    return "POST", "/v1/checkins", b"", json.dumps(body).encode()


async def _call(app: ASGIApp, target: str, token: str, n: int) -> int:
    method, path, query, body = _request(target, n)
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # the request is complete; wait as a server would
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


class _CollectorClock:
    """Times the garbage collector's passes (`gc.callbacks`) while the block runs."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.passes = [0, 0, 0]
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._began
            self.passes[info["generation"]] += 1

    def __enter__(self) -> _CollectorClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self, requests: int) -> str:
        per_request = sum(self.seconds) * 1000 / requests
        passes = ", ".join(
            f"generation {g}: {n} passes, {s * 1000:.1f} ms"
            for g, (n, s) in enumerate(zip(self.passes, self.seconds, strict=True))
        )
        return f"{per_request:.3f} ms per request ({passes})"


async def _drive(fixture: Fixture, target: str, requests: int, top: int, async_mode: str) -> None:
    from pyinstrument import Profiler

    from app.main import create_app

    app = create_app()
    tokens = tokens_for(target, fixture)
    asgi: ASGIApp = app
    async with app.router.lifespan_context(app):
        for n in range(200):  # warm-up: caches, prepared statements, the pool
            await _call(asgi, target, tokens[n % len(tokens)], n)
        collector = _CollectorClock()
        started, cpu_started = time.perf_counter(), time.process_time()
        with collector:
            for n in range(requests):
                status = await _call(asgi, target, tokens[n % len(tokens)], n)
                if status >= 400:
                    raise RuntimeError(f"{target} answered {status}")
        mean_ms = (time.perf_counter() - started) * 1000 / requests
        cpu_ms = (time.process_time() - cpu_started) * 1000 / requests
        profiler = Profiler(interval=0.0002, async_mode=async_mode)  # type: ignore[arg-type]
        with profiler:
            for n in range(requests):
                await _call(asgi, target, tokens[n % len(tokens)], requests + n)
    print(
        f"{target}: {requests} requests, {mean_ms:.3f} ms per request, of which {cpu_ms:.3f} ms "
        "of this process's CPU (no profiler; the rest is waiting on PostgreSQL)"
    )
    print(f"the garbage collector: {collector.summary(requests)}\n")
    for flat_time in ("self", "total"):
        text = profiler.output_text(flat=True, flat_time=flat_time, time="percent_of_total")
        lines = [line for line in text.splitlines() if line.strip()]
        body = [line for line in lines if "%" in line or line[:1].isdigit()]
        print(f"-- top {top} functions by {flat_time} time --")
        print("\n".join(body[:top]), end="\n\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--target", choices=TARGETS, default="get_me")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--async-mode",
        choices=("disabled", "enabled"),
        default="disabled",
        help="disabled: where the CPU goes (waits on the database show as the event loop's "
        "idle time); enabled: wall clock, awaits charged to the code that awaits",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", f"postgresql://postgres@{HOST}:5432/postgres"),
    )
    args = parser.parse_args()
    if not 0 < args.requests <= 100_000:
        parser.error("--requests in [1, 100000]")
    admin = make_url(args.postgres)
    name = f"rapport_profile_{uuid.uuid4().hex[:10]}"
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
        asyncio.run(populate(fixture, PUBLIC_URL))
        for key in [k for k in os.environ if k.startswith("RAPPORT_")]:
            del os.environ[key]
        os.environ.update(app_environment(fixture, PUBLIC_URL))
        asyncio.run(_drive(fixture, args.target, args.requests, args.top, args.async_mode))
    finally:
        asyncio.run(drop_database(fixture.admin_dsn, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
