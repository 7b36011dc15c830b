"""An app under uvicorn on 127.0.0.1, in the current event loop: real HTTP, real streaming."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def serving(make_app: Callable[[str], FastAPI]) -> AsyncIterator[tuple[str, FastAPI]]:
    """`make_app(url)`'s app served on a free port (lifespan on); yields its URL and the app."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    served = make_app(url)
    server = uvicorn.Server(uvicorn.Config(served, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield url, served
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()
