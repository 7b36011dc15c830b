"""The benchmark's servers on loopback, and its two load generators: wrk with a generated Lua
script, or a slower asyncio + httpx one built in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from bench_fixture import HOST, Fixture

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpu: int | None) -> list[str]:
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
def server(
    command: list[str], env: dict[str, str], ready_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_ready(ready_url, process)
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) the process has used so far, from /proc (0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(
    pid: int, *, window: float = 0.25, busy: float = 0.1, patience: float = 15.0
) -> float:
    """Wait until the process used less than `busy` of a core over `window` seconds, for at
    most `patience` seconds; the seconds waited.

    When wrk stops, the requests it had in flight are abandoned, not cancelled: the server
    still answers them. At 256 connections a measurement begun at once had p99s of 2 to 4 s
    (though the server's own durations stayed under 350 ms), and none begun after a pause."""
    started = time.monotonic()
    while time.monotonic() - started < patience:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < busy * window:
            break
    return time.monotonic() - started


def postgres_cpu_seconds() -> dict[int, float]:
    """The CPU time of each PostgreSQL process on this machine, by process id."""
    seconds: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    seconds[int(entry.name)] = cpu_seconds(int(entry.name))
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float:
    """The CPU time PostgreSQL's processes used since `before` (a backend that started since
    counts from zero; one that ended is lost, so this is a lower bound)."""
    after = postgres_cpu_seconds()
    return sum(max(0.0, spent - before.get(pid, 0.0)) for pid, spent in after.items())


@contextlib.contextmanager
def sampled(pid: int, output: Path | None, seconds: float) -> Iterator[None]:
    """While the block runs, py-spy samples the process `pid` into `output` (collapsed stacks,
    what `spy_top.py` reads); nothing when `output` is None."""
    if output is None:
        yield
        return
    command = ["py-spy", "record", "--pid", str(pid), "--duration", str(max(1, int(seconds)))]
    command += ["--format", "raw", "--nonblocking", "--output", str(output)]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        try:
            recorder.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            recorder.kill()


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
    "today": (
        'return wrk.format("GET", "/v1/couples/me/prompts/today", '
        '{["Authorization"] = "Bearer " .. tokens[i]})'
    ),
    "checkins": (
        'return wrk.format("GET", "/v1/couples/me/checkins?limit=20", '
        '{["Authorization"] = "Bearer " .. tokens[i]})'
    ),
    "post_checkin": (
        'return wrk.format("POST", "/v1/checkins", {["Authorization"] = "Bearer " .. tokens[i], '
        '["Content-Type"] = "application/json"}, '
        '\'{"mood": 4, "visibility": "partner", "note": "Bench \' .. counter .. \'"}\')'
    ),
}
CHECKIN_BODY = {"mood": 4, "visibility": "partner"}


def tokens_for(target: str, fixture: Fixture) -> list[str]:
    """Whose tokens a target rotates over: the profile users, both partners of the couples
    with a year of history, or one partner per couple (writers never share a couple)."""
    if target in ("today", "checkins"):
        return fixture.partner_tokens
    if target == "post_checkin":
        return fixture.writer_tokens
    return fixture.tokens


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_script(target: str, fixture: Fixture, directory: Path) -> Path:
    script = directory / f"{target}.lua"
    script.write_text(
        _LUA
        % {
            "tokens": ", ".join(f'"{t}"' for t in tokens_for(target, fixture)),
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
    command = pinned(
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
    tokens = tokens_for(target, fixture)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=5) as client:
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                i = counter % len(tokens)
                auth = {"Authorization": f"Bearer {tokens[i]}"}
                began = time.perf_counter()
                try:
                    if target == "get_me":
                        response = await client.get("/v1/me", headers=auth)
                    elif target == "patch_me":
                        response = await client.patch(
                            "/v1/me", headers=auth, json={"display_name": f"Bench {counter}"}
                        )
                    elif target == "today":
                        response = await client.get("/v1/couples/me/prompts/today", headers=auth)
                    elif target == "checkins":
                        response = await client.get(
                            "/v1/couples/me/checkins", params={"limit": 20}, headers=auth
                        )
                    elif target == "post_checkin":
                        body = {**CHECKIN_BODY, "note": f"Bench {counter}"}
                        response = await client.post("/v1/checkins", headers=auth, json=body)
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
