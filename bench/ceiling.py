"""The ceiling: bare Starlette + asyncpg reading one row by id, with nothing else on the way.

`bench/run.py` serves it under uvicorn beside `rapport serve` and reports Rapport's numbers as
a fraction of this one's. It reads the same row of the same table as `GET /v1/me` does.

    BENCH_CEILING_DSN=postgresql://postgres@127.0.0.1:5432/db uvicorn bench.ceiling:app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

QUERY = (
    "SELECT id, email, display_name, timezone, locale, role, created_at, updated_at "
    "FROM users WHERE id = $1"
)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    # The same pool size as the app's engine (app/db.py).
    pool = await asyncpg.create_pool(os.environ["BENCH_CEILING_DSN"], min_size=10, max_size=10)
    try:
        yield {"pool": pool}
    finally:
        await pool.close()


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def user(request: Request) -> Response:
    try:
        user_id = uuid.UUID(request.path_params["user_id"])
    except ValueError:
        return JSONResponse({"detail": "not a uuid"}, status_code=422)
    pool: asyncpg.Pool = request.state.pool
    row = await pool.fetchrow(QUERY, user_id)
    if row is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return JSONResponse(
        {
            "id": str(row["id"]),
            "email": row["email"],
            "display_name": row["display_name"],
            "timezone": row["timezone"],
            "locale": row["locale"],
            "role": row["role"],
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
        }
    )


app = Starlette(
    routes=[Route("/healthz", health), Route("/users/{user_id}", user)],
    lifespan=lifespan,
)
