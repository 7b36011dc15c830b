"""Request ids, JSON logs and the health probes."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from app.config import Settings
from app.core.keys import generate_key
from app.core.logging import JSONFormatter
from app.main import create_app
from tests.derived_app import client_for, derived_app

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/v1/me", 401),
        ("GET", "/nowhere", 404),
        ("DELETE", "/v1/users", 405),
        ("POST", "/v1/users", 422),
    ],
)
async def test_every_response_carries_a_request_id(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_each_request_gets_its_own_id(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("incoming", ["abc-123", "trace.id:42_x", "x" * 128])
async def test_a_valid_incoming_id_is_echoed(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/nowhere", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming
    assert response.json()["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [b"x" * 129, b"has spaces", b"", b"new\\nline", b"<script>", "é".encode()],
    ids=["overlong", "spaces", "empty", "backslash", "markup", "non-ascii"],
)
async def test_an_invalid_incoming_id_is_replaced(
    client: httpx.AsyncClient, incoming: bytes
) -> None:
    response = await client.get("/healthz", headers={b"X-Request-ID": incoming})
    assert GENERATED_ID.match(response.headers["x-request-id"])


class Capture(logging.Handler):
    """Formats each record as it is emitted, while the request's context is still current."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JSONFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def json_logs() -> Iterator[Capture]:
    """Capture the `rapport` loggers' lines; enter it after create_app, which resets them."""
    logger = logging.getLogger("rapport")
    capture, level = Capture(), logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)


async def test_log_lines_are_json_carrying_the_request_id(app: FastAPI) -> None:
    logging_route = APIRouter()

    @logging_route.get("/test/logs")
    async def write_a_log() -> dict[str, bool]:
        logging.getLogger("rapport.test").info("inside the endpoint")
        return {"ok": True}

    logging_app = derived_app(app, logging_route)
    with json_logs() as capture:
        async with client_for(logging_app) as http:
            response = await http.get("/test/logs", headers={"X-Request-ID": "trace-42"})
    assert response.status_code == 200
    entries = [json.loads(line) for line in capture.lines]
    inside = next(e for e in entries if e["message"] == "inside the endpoint")
    access = next(e for e in entries if e["message"] == "request")
    assert inside["request_id"] == access["request_id"] == "trace-42"
    assert access["path"] == "/test/logs"
    assert access["status"] == 200
    assert access["method"] == "GET"
    assert isinstance(access["duration_ms"], float)


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    live = await client.get("/healthz")
    ready = await client.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "database_url",
    [
        "sqlite+aiosqlite:////nonexistent-directory/rapport.db",
        "postgresql+asyncpg://nobody@127.0.0.1:1/rapport",
    ],
    ids=["sqlite", "postgresql"],
)
async def test_readiness_is_a_503_problem_when_the_database_is_unreachable(
    test_settings: Settings, database_url: str
) -> None:
    key = generate_key()
    settings = test_settings.model_copy(
        update={
            "database_url": database_url,
            "signing_key": json.dumps(key.as_dict(private=True)),
        }
    )
    unreachable = create_app(settings)
    async with unreachable.router.lifespan_context(unreachable), client_for(unreachable) as http:
        live = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    problem = ready.json()
    assert problem["status"] == 503
    assert problem["type"] == "/problems/not-ready"
    assert problem["request_id"] == ready.headers["x-request-id"]
    assert "nobody" not in ready.text
    assert "nonexistent" not in ready.text


async def test_an_unreachable_database_is_a_503_with_retry_after(
    test_settings: Settings,
) -> None:
    """A restart or failover is no server error: the answer says to come back."""
    settings = test_settings.model_copy(
        update={
            "database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/rapport",
            "signing_key": json.dumps(generate_key().as_dict(private=True)),
        }
    )
    unreachable = create_app(settings)
    async with unreachable.router.lifespan_context(unreachable), client_for(unreachable) as http:
        token, _ = unreachable.state.tokens.issue(
            subject=str(uuid.uuid4()), client_id="rapport-mobile", scope="profile checkins:write"
        )
        headers = {"Authorization": f"Bearer {token}"}
        read = await http.get("/v1/me", headers=headers)
        write = await http.post("/v1/checkins", json={"mood": 3}, headers=headers)
    for response in (read, write):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        assert response.json()["type"] == "/problems/unavailable"
        assert "nobody" not in response.text and "127.0.0.1" not in response.text
