"""Faults under load: while writes through the API and their webhook deliveries flow, the
database goes away and comes back, an API process and a worker die by SIGKILL, and the
receiver answers 500 for a while. Afterwards: does the API serve again without a restart of
its own, and was every committed event delivered exactly once?

    python bench/faults.py --receiver-outage 10 --db-outage 3      # simulated database fault
    python bench/faults.py --restart-postgres                       # the real thing (see below)

It creates a throwaway database (dropped at the end), `--people` people who each connected a
partner platform (`profile`), and one endpoint of that platform on a receiver in this process.
It starts `rapport serve --workers 2` and two `rapport worker` processes, then `--writers`
loops PATCH /v1/me (each write commits a `user.updated` event, fanned out to the platform).
The faults, in this order, a few seconds apart:

1. SIGKILL of one API worker process (uvicorn's supervisor starts a new one);
2. SIGKILL of one `rapport worker` (its leased deliveries wait out the lease; the other
   worker carries on alone);
3. the receiver answers 500 for `--receiver-outage` seconds (60 by default);
4. the database goes away: with `--restart-postgres`, `pg_ctlcluster ... main restart` — it
   restarts EVERY database of the cluster, so never use it on a shared machine; without it,
   a fault of this database only: connections to it are refused (`ALLOW_CONNECTIONS false`)
   and its backends killed (`pg_terminate_backend`) for `--db-outage` seconds.

The writers keep going until `--settle` seconds after the database is back. The report: every
response by phase (a write refused while the database is away is expected; any 5xx once it
is back is a failure), whether each process is still alive, and once the deliveries drained
(at most `--patience` seconds: a delivery that failed twice waits 300 s before its third
attempt, as the Standard Webhooks schedule says), the events that committed but were never
delivered, and those delivered twice. The goal: none of either, and no 5xx once back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fixture import HOST, create_database, drop_database  # noqa: E402
from bench_load import free_port  # noqa: E402

RAPPORT = str(Path(sys.executable).with_name("rapport"))


from fault_parts import Outcomes, Receiver, children, environment, prepare  # noqa: E402


async def request_loop(
    http: httpx.AsyncClient,
    token: str,
    write: bool,
    flowing: asyncio.Event,
    stop: asyncio.Event,
    out: Outcomes,
) -> None:
    """PATCH /v1/me (a write and its event) or GET /v1/me (a hot read), again and again,
    while `flowing` is set; outcomes are named `PATCH 200`, `GET ReadError`..."""
    n = 0
    verb = "PATCH" if write else "GET"
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        await flowing.wait()
        n += 1
        began = time.monotonic()
        try:
            if write:
                body = {"display_name": f"Fault {n}"}
                response = await http.patch("/v1/me", json=body, headers=headers)
            else:
                response = await http.get("/v1/me", headers=headers)
            out.results.append((began, f"{verb} {response.status_code}"))
        except httpx.HTTPError as error:
            out.results.append((began, f"{verb} {type(error).__name__}"))
            await asyncio.sleep(0.2)


async def database_fault(admin_dsn: str, database: str, outage: float, restart: bool) -> None:
    if restart:
        cluster = os.listdir("/etc/postgresql")[0]
        restart_cluster = await asyncio.create_subprocess_exec(
            "pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"
        )
        if await restart_cluster.wait():
            raise RuntimeError("pg_ctlcluster failed")
        return
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
            database,
        )
        print(f"  {killed} backends of {database} terminated; connections refused", flush=True)
        await asyncio.sleep(outage)
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


async def committed_events(dsn: str) -> set[str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT id FROM events WHERE type = 'user.updated'")
    finally:
        await connection.close()
    return {str(row["id"]) for row in rows}


async def run(args: argparse.Namespace) -> int:
    admin = make_url(args.postgres)
    database = f"rapport_faults_{uuid.uuid4().hex[:8]}"
    dsn = admin.set(database=database).render_as_string(hide_password=False)
    url = make_url(dsn).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    admin_dsn = admin.render_as_string(hide_password=False)
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, HOST, free_port())
    hook = f"http://{HOST}:{server.sockets[0].getsockname()[1]}/hook"
    await create_database(admin_dsn, database)
    processes: list[asyncio.subprocess.Process] = []
    try:
        tokens, key = await prepare(url, hook, args.people)
        args.log.parent.mkdir(exist_ok=True)
        log = args.log.open("ab")
        print(f"the processes' output goes to {args.log}", flush=True)
        env = environment(url, key)
        port = free_port()
        api = await asyncio.create_subprocess_exec(
            RAPPORT,
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "2",
            env=env,
            stdout=log,
            stderr=log,
        )
        processes.append(api)
        worker_args = ("worker", "--no-jobs", "--poll-interval", "0.1", "--lease-seconds", "5")
        for _ in range(2):
            processes.append(
                await asyncio.create_subprocess_exec(
                    RAPPORT, *worker_args, env=env, stdout=log, stderr=log
                )
            )
        base = f"http://{HOST}:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200 and len(
                        children(api.pid)
                    ) == 2:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the API did not start")
                await asyncio.sleep(0.2)
            outcomes, stop, flowing = Outcomes(), asyncio.Event(), asyncio.Event()
            flowing.set()
            loops = [
                asyncio.create_task(
                    request_loop(
                        http, tokens[n % len(tokens)], n < args.writers, flowing, stop, outcomes
                    )
                )
                for n in range(args.writers + args.readers)
            ]
            started = time.monotonic()
            print("writing; faults:", flush=True)
            await asyncio.sleep(3)
            first_fault = time.monotonic()
            victim = children(api.pid)[0]
            os.kill(victim, signal.SIGKILL)
            print(f"  t={time.monotonic() - started:.0f}s SIGKILL API worker {victim}", flush=True)
            await asyncio.sleep(3)
            processes[1].kill()
            print(f"  t={time.monotonic() - started:.0f}s SIGKILL rapport worker", flush=True)
            await asyncio.sleep(3)
            receiver.failing_until = time.monotonic() + args.receiver_outage
            print(
                f"  t={time.monotonic() - started:.0f}s receiver answers 500 for "
                f"{args.receiver_outage:.0f}s",
                flush=True,
            )
            await asyncio.sleep(2)
            gone = time.monotonic()
            print(
                f"  t={gone - started:.0f}s database fault "
                f"({'restart' if args.restart_postgres else 'simulated'})",
                flush=True,
            )
            if args.quiet_outage:  # no request from a second before until the database is back
                flowing.clear()
                await asyncio.sleep(1)
            await database_fault(admin_dsn, database, args.db_outage, args.restart_postgres)
            back = time.monotonic()
            flowing.set()
            print(f"  t={back - started:.0f}s database back", flush=True)
            await asyncio.sleep(args.settle)
            stop.set()
            await asyncio.gather(*loops)
            ended = time.monotonic()
            after = await http.get("/healthz")
        alive = {
            "api supervisor": api.returncode is None,
            "api workers": len(children(api.pid)),
            "surviving rapport worker": processes[2].returncode is None,
        }
        committed = await committed_events(dsn)
        drain_deadline = time.monotonic() + args.patience
        # Polled: the set to reach is known only now, and the receiver counts on its own.
        while set(receiver.events) < committed and time.monotonic() < drain_deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # anything sent twice arrives by now
        lost = sorted(committed - set(receiver.events))
        twice = sorted(e for e, n in receiver.events.items() if n > 1)
        report = {
            "writes begun before the first fault": outcomes.count(started, first_fault),
            "writes begun during the faults": outcomes.count(first_fault, back),
            "writes begun once the database was back": outcomes.count(back, ended),
            "healthz after": after.status_code,
            "processes": alive,
            "events committed": len(committed),
            "deliveries refused by the receiver (500)": receiver.refused,
            "events delivered": len(receiver.events),
            "lost": lost,
            "delivered twice (by event)": twice,
            "delivered twice (by webhook-id)": sorted(
                i for i, n in receiver.accepted.items() if n > 1
            ),
        }
        print(json.dumps(report, indent=2))
        failures = [
            o for o in outcomes.count(back, ended) if not o.split()[1].startswith(("2", "4"))
        ]
        return 1 if lost or twice or failures else 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 15)
            if process.returncode is None:
                process.kill()
        server.close()
        await drop_database(admin_dsn, database)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--readers", type=int, default=4, help="GET /v1/me loops")
    parser.add_argument("--people", type=int, default=32)
    parser.add_argument(
        "--quiet-outage",
        action="store_true",
        help="send nothing while the database is away (the pools' stale connections are "
        "then first met once it is back)",
    )
    parser.add_argument("--receiver-outage", type=float, default=60.0)
    parser.add_argument("--db-outage", type=float, default=5.0, help="simulated fault only")
    parser.add_argument("--settle", type=float, default=10.0, help="writes once the DB is back")
    parser.add_argument("--patience", type=float, default=420.0, help="drain, at most")
    parser.add_argument("--log", type=Path, default=ROOT / "bench" / "results" / "faults.log")
    parser.add_argument(
        "--restart-postgres",
        action="store_true",
        help="restart the whole PostgreSQL cluster (disrupts every database on the machine)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", f"postgresql://postgres@{HOST}:5432/postgres"),
    )
    args = parser.parse_args()
    if not 1 <= args.writers <= 64 or not 0 < args.receiver_outage <= 600:
        parser.error("keep it bounded: --writers in [1, 64], --receiver-outage in (0, 600]")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
