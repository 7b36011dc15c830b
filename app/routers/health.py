"""Liveness and readiness probes for orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from app.core.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA_REF, problem_response
from app.schemas.health import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Liveness: the process answers",
    description="Answers 200 while the process runs, without touching the database.",
    response_model=Health,
)
async def health_live() -> Response:
    return JSONResponse(Health(status="ok").model_dump())


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    description=(
        "Answers 200 once the database answers a query, 503 while it does not: route traffic here"
        " only when ready."
    ),
    response_model=Health,
    responses={
        503: {
            "description": "The database is unreachable",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
    },
)
async def health_ready(request: Request) -> Response:
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return problem_response(
            status=503, slug="not-ready", title="Not ready", detail="The database is unreachable."
        )
    return JSONResponse(Health(status="ok").model_dump())
