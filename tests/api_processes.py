"""`rapport serve` as a real process of its own, for tests that need several or kill one."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.config import Settings
from tests.conftest import PUBLIC_URL

RAPPORT = str(Path(sys.executable).with_name("rapport"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ApiProcess:
    process: asyncio.subprocess.Process
    http: httpx.AsyncClient


@asynccontextmanager
async def api_process(
    settings: Settings,
    *,
    extra_env: dict[str, str] | None = None,
    request_timeout: float = 5,
    own_public_url: bool = False,
) -> AsyncIterator[ApiProcess]:
    """`rapport serve` on a port of its own, answering once it is ready.

    Its public URL is the tests' (the issuer and audience of the tokens they mint), or, with
    `own_public_url`, its own address, for clients that follow the links it publishes."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_DATABASE_URL": settings.database_url,
        "RAPPORT_PUBLIC_URL": base_url if own_public_url else PUBLIC_URL,
        "RAPPORT_ENVIRONMENT": "test",
        "RAPPORT_SEED_ON_START": "false",
        "RAPPORT_RUN_WORKER_IN_PROCESS": "false",
        "RAPPORT_ARGON2_TIME_COST": "1",
        "RAPPORT_ARGON2_MEMORY_KIB": "8",
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_LOG_JSON": "false",
        **(extra_env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        RAPPORT, "serve", "--host", "127.0.0.1", "--port", str(port), env=env
    )
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=request_timeout) as http:
            deadline = time.monotonic() + 120  # a loaded machine starts processes slowly
            while True:
                if process.returncode is not None:
                    raise AssertionError(f"the API process exited with {process.returncode}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("the API process did not start")
                await asyncio.sleep(0.1)
            yield ApiProcess(process, http)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
