"""Webhook delivery throughput: one `rapport worker` process delivering signed events to a
local receiver, exactly once, with the latency from an event's commit to its arrival.

    python bench/webhooks.py [--events 5000] [--workers 1] [--rate 0] [--poll-interval 1]

It creates a throwaway PostgreSQL database (dropped at the end), one person who connected a
partner platform (`profile`), and one endpoint of that platform on a receiver in this process
(a bare asyncio HTTP/1.1 server answering 204, keep-alive). It starts the worker(s), commits
`--events` `user.updated` events, and waits until every one arrived:

- backlog (`--rate 0`, the default): in batches of 100 as fast as they commit, far faster
  than a worker sends: the throughput; the latency is that of a queue draining.
- steady flow (`--rate N`): N events a second, in batches every 50 ms, while the worker
  runs: the latency from commit to receiver of a flow the worker keeps up with.

It prints deliveries per second per worker process (first arrival to last), latency p50/p99
(each event's commit to its first arrival, matched by the event id in the body), how many
arrived twice or never (the goal: none), and the worker processes' CPU seconds (on a shared
machine, deliveries per worker CPU second says what a core of its own would do).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_fixture import BENCH_PASSWORD, HOST, create_database, drop_database  # noqa: E402
from bench_load import free_port  # noqa: E402

BATCH = 100
TICK = 0.05
"""Seconds between batches of a steady flow."""


@dataclass
class Receiver:
    """Records the arrival times of every event (by the id in its body); answers 204 on a
    kept-alive connection."""

    expected: int = 0
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    first: asyncio.Event = field(default_factory=asyncio.Event)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.monotonic()
                event_id = json.loads(body)["data"]["id"]
                self.arrivals.setdefault(event_id, []).append(now)
                self.first.set()
                if len(self.arrivals) >= self.expected:
                    self.complete.set()
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class Result:
    mode: str
    events: int
    workers: int
    poll_interval: float
    seconds: float
    per_second_per_worker: float
    latency_p50_ms: float
    latency_p99_ms: float
    duplicates: int
    missing: int
    worker_cpu_seconds: float
    per_worker_cpu_second: float


async def _prepare(url: str, receiver_url: str) -> uuid.UUID:
    """Migrate; a person, a platform they connected, and its endpoint. The person's id."""
    from app.core.passwords import Passwords
    from app.db import create_engine, create_sessionmaker
    from app.migrate import upgrade_async
    from app.models.oauth import Consent, OAuthClient
    from app.models.webhooks import WebhookEndpoint
    from app.schemas.users import UserCreate
    from app.services.users import create_user

    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            data = UserCreate(
                email="bench@example.org", password=BENCH_PASSWORD, display_name="Bench"
            )
            user = await create_user(session, data, passwords=Passwords(time_cost=1, memory_kib=8))
            session.add(
                OAuthClient(
                    client_id="bench-platform",
                    name="Bench platform",
                    is_confidential=True,
                    allowed_scopes=["profile", "webhooks:manage"],
                )
            )
            await session.flush()
            session.add(Consent(user_id=user.id, client_id="bench-platform", scopes=["profile"]))
            session.add(
                WebhookEndpoint(
                    client_id="bench-platform",
                    url=receiver_url,
                    secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    event_types=["user.updated"],
                )
            )
            return user.id
    finally:
        await engine.dispose()


async def _commit_events(url: str, user_id: uuid.UUID, count: int, rate: float) -> dict[str, float]:
    """Commit `count` events, in batches of 100 at once or `rate` a second; when each
    committed, by event id."""
    from app.core.events import append_event
    from app.db import create_engine, create_sessionmaker

    committed: dict[str, float] = {}
    engine = create_engine(url)
    per_batch = BATCH if rate <= 0 else max(1, round(rate * TICK))
    started = time.monotonic()
    try:
        sessionmaker = create_sessionmaker(engine)
        for start in range(0, count, per_batch):
            if rate > 0:
                # On schedule, not after the previous batch: a slow commit does not slow the flow.
                await asyncio.sleep(max(0.0, started + start / rate - time.monotonic()))
            async with sessionmaker() as session, session.begin():
                ids = [
                    str((await append_event(session, "user.updated", user_id=user_id)).id)
                    for _ in range(min(per_batch, count - start))
                ]
            now = time.monotonic()
            committed.update(dict.fromkeys(ids, now))
    finally:
        await engine.dispose()
    return committed


def _cpu_seconds(pid: int) -> float:
    """The user and system CPU time of a running process (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _relay(process: asyncio.subprocess.Process, started: asyncio.Event) -> None:
    """Copy a worker's standard error to ours, noting the line it prints once it runs."""
    assert process.stderr is not None
    async for line in process.stderr:
        sys.stderr.buffer.write(line)
        sys.stderr.flush()
        if line.startswith(b"Rapport worker started"):
            started.set()


async def _cpu_at_first_arrival(
    receiver: Receiver, processes: list[asyncio.subprocess.Process]
) -> float:
    """The workers' CPU time once the first delivery arrived (their start-up left out)."""
    await receiver.first.wait()
    return sum(_cpu_seconds(process.pid) for process in processes)


def _worker_env(url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_ENVIRONMENT": "development",
        "RAPPORT_WEBHOOK_ALLOW_HTTP": "true",
        "RAPPORT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "RAPPORT_LOG_LEVEL": "WARNING",
    }


async def run(
    admin_dsn: str, events: int, workers: int, patience: float, rate: float, poll_interval: float
) -> Result:
    database = f"rapport_bench_webhooks_{uuid.uuid4().hex[:8]}"
    url = admin_dsn.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    url = f"{url}/{database}"
    receiver = Receiver(expected=events)
    port = free_port()
    server = await asyncio.start_server(receiver.handle, HOST, port)
    await create_database(admin_dsn, database)
    processes: list[asyncio.subprocess.Process] = []
    relays: list[asyncio.Task[None]] = []
    try:
        user_id = await _prepare(url, f"http://{HOST}:{port}/hook")
        rapport = str(Path(sys.executable).with_name("rapport"))
        for _ in range(workers):
            processes.append(
                await asyncio.create_subprocess_exec(
                    rapport,
                    "worker",
                    "--no-jobs",
                    "--poll-interval",
                    str(poll_interval),
                    env=_worker_env(url),
                    cwd=ROOT,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        # Events commit once every worker is up (migrated, imported): a steady flow must not
        # begin with the backlog of a worker's start-up.
        started = [asyncio.Event() for _ in processes]
        relays = [
            asyncio.create_task(_relay(process, running))
            for process, running in zip(processes, started, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(running.wait() for running in started)), patience)
        baseline = asyncio.create_task(_cpu_at_first_arrival(receiver, processes))
        committed = await _commit_events(url, user_id, events, rate)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(patience):
                await receiver.complete.wait()
        await asyncio.sleep(1)  # anything arriving twice arrives now
        cpu = sum(_cpu_seconds(process.pid) for process in processes) - await baseline
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await process.wait()
        await asyncio.gather(*relays, return_exceptions=True)
        server.close()
        await drop_database(admin_dsn, database)
    mode = f"steady {rate:g}/s" if rate > 0 else "backlog"
    return _summarize(receiver, committed, workers, mode, poll_interval, cpu)


def _summarize(
    receiver: Receiver,
    committed: dict[str, float],
    workers: int,
    mode: str,
    poll_interval: float,
    cpu: float,
) -> Result:
    firsts = sorted(times[0] for times in receiver.arrivals.values())
    latencies = [
        (times[0] - committed[event_id]) * 1000
        for event_id, times in receiver.arrivals.items()
        if event_id in committed
    ]
    seconds = (firsts[-1] - firsts[0]) if len(firsts) > 1 else float("nan")
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(
        mode=mode,
        events=len(committed),
        workers=workers,
        poll_interval=poll_interval,
        seconds=round(seconds, 2),
        per_second_per_worker=round(len(firsts) / seconds / workers, 1) if seconds else 0.0,
        latency_p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        latency_p99_ms=round(quantiles[98], 1),
        duplicates=sum(len(times) - 1 for times in receiver.arrivals.values()),
        missing=len(committed.keys() - receiver.arrivals.keys()),
        worker_cpu_seconds=round(cpu, 2),
        per_worker_cpu_second=round(len(firsts) / cpu, 1) if cpu else 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument(
        "--rate", type=float, default=0, help="Events committed a second (0: a backlog)."
    )
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="The worker's idle poll (its default)."
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    arguments = parser.parse_args()
    result = asyncio.run(
        run(
            arguments.postgres,
            arguments.events,
            arguments.workers,
            arguments.timeout,
            arguments.rate,
            arguments.poll_interval,
        )
    )
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
