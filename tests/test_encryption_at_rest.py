"""Free text at rest: a marker written in every free-text field never reaches the raw
database (the SQLite file and its WAL; PostgreSQL's table contents), while the people
allowed to read it still get it back through the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.models import Base
from tests.conftest import MakeUser, Person
from tests.factories import pair, publish_library

EVERYTHING = (
    "profile",
    "couple:read",
    "couple:write",
    "prompts:read",
    "answers:read",
    "answers:write",
    "checkins:read",
    "checkins:write",
    "journal:read",
    "journal:write",
    "repair:read",
    "repair:write",
)
PLANS = "/v1/couples/me/repair-plans"
MARK = "ZQXMARKER"


def h(person: Person) -> dict[str, str]:
    return person.headers(*EVERYTHING)


async def _send(
    client: httpx.AsyncClient,
    method: str,
    person: Person,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
) -> Any:
    headers = h(person) | ({"Idempotency-Key": key} if key else {})
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


def agreement_body(mark: str) -> dict[str, Any]:
    return {"text": f"{mark} agreement"}


def checkin_body(mark: str) -> dict[str, Any]:
    return {
        "mood": 3,
        "note": f"{mark} checkin-note",
        "request": f"{mark} checkin-request",
        "visibility": "partner",
    }


async def write_a_marker_everywhere(
    client: httpx.AsyncClient, ann: Person, bo: Person, mark: str
) -> dict[str, Any]:
    """Every free-text field a person can write, each holding `mark` and its own name."""
    today = await _send(client, "GET", ann, "/v1/couples/me/prompts/today")
    answer_path = f"/v1/couples/me/prompts/{today['date']}/answer"
    await _send(client, "PUT", ann, answer_path, {"text": f"{mark} answer-text"})
    await _send(client, "PUT", bo, answer_path, {"text": "Bo's answer"})
    answers = (await _send(client, "GET", bo, "/v1/me/answers"))["data"]
    anns = next(item["partner_answer"] for item in answers if item.get("partner_answer"))
    await _send(
        client,
        "POST",
        bo,
        f"/v1/answers/{anns['id']}/reflections",
        {"kind": "reflect", "text": f"{mark} answer-reflection"},
    )
    checkin = await _send(client, "POST", ann, "/v1/checkins", checkin_body(mark))
    await _send(
        client,
        "POST",
        bo,
        f"/v1/checkins/{checkin['id']}/reflections",
        {"kind": "appreciate", "text": f"{mark} checkin-reflection"},
    )
    entry = await _send(client, "POST", ann, "/v1/journal", {"body": f"{mark} journal-body"})
    declined = await _send(
        client, "POST", bo, PLANS, {"title": "First try", "hurt_user_id": str(bo.id)}
    )
    await _send(
        client,
        "POST",
        ann,
        f"{PLANS}/{declined['id']}/decline",
        {"note": f"{mark} decline-note"},
    )
    plan = await _send(
        client, "POST", ann, PLANS, {"title": f"{mark} plan-title", "hurt_user_id": str(ann.id)}
    )
    await _send(client, "POST", bo, f"{PLANS}/{plan['id']}/accept")
    step = await _send(
        client,
        "POST",
        ann,
        f"{PLANS}/{plan['id']}/steps",
        {"title": f"{mark} step-title", "description": f"{mark} step-text", "owner": "hurt"},
    )
    # A stored response (for an Idempotency-Key) holds the words too.
    agreement = await _send(
        client, "POST", bo, f"{PLANS}/{plan['id']}/agreements", agreement_body(mark), key="a-1"
    )
    rating = await _send(
        client,
        "POST",
        ann,
        f"{PLANS}/{plan['id']}/trust-ratings",
        {"score": 4, "note": f"{mark} trust-note"},
    )
    return {
        "answer": anns["id"],
        "checkin": checkin["id"],
        "entry": entry["id"],
        "declined": declined["id"],
        "plan": plan["id"],
        "step": step["id"],
        "agreement": agreement["id"],
        "rating": rating["id"],
    }


async def raw_database_text(engine: AsyncEngine, settings: Settings) -> str:
    """What a stolen disk holds: the SQLite file and its WAL, or every PostgreSQL row."""
    if engine.dialect.name == "sqlite":
        path = Path(settings.database_url.split(":///", 1)[1])
        files = [path, path.with_name(path.name + "-wal")]
        return "".join(file.read_bytes().decode("latin-1") for file in files if file.exists())
    dumped: list[str] = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = await connection.execute(text(f'SELECT t::text FROM "{table.name}" t'))  # noqa: S608
            dumped.extend(row[0] for row in rows)
    return "\n".join(dumped)


FIELDS = (
    "answer-text",
    "answer-reflection",
    "checkin-note",
    "checkin-request",
    "checkin-reflection",
    "journal-body",
    "decline-note",
    "plan-title",
    "step-title",
    "step-text",
    "agreement",
    "trust-note",
)


async def test_no_free_text_reaches_the_raw_database(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    engine: AsyncEngine,
    test_settings: Settings,
) -> None:
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    ids = await write_a_marker_everywhere(client, ann, bo, MARK)

    raw = await raw_database_text(engine, test_settings)
    assert (MARK in raw) is False, "a marker reached the raw database"
    assert "rp1." in raw  # the envelopes are there instead

    # The people allowed to read each field still read it.
    seen = [
        await _send(client, "GET", bo, "/v1/me/answers"),
        await _send(client, "GET", ann, f"/v1/answers/{ids['answer']}/reflections"),
        await _send(client, "GET", bo, f"/v1/checkins/{ids['checkin']}"),
        await _send(client, "GET", ann, f"/v1/checkins/{ids['checkin']}/reflections"),
        await _send(client, "GET", ann, f"/v1/journal/{ids['entry']}"),
        await _send(client, "GET", ann, f"{PLANS}/{ids['declined']}"),
        await _send(client, "GET", bo, f"{PLANS}/{ids['plan']}"),
        await _send(client, "GET", bo, f"{PLANS}/{ids['plan']}/steps/{ids['step']}"),
        await _send(client, "GET", ann, f"{PLANS}/{ids['plan']}/agreements/{ids['agreement']}"),
        await _send(client, "GET", ann, f"{PLANS}/{ids['plan']}/trust-ratings"),
    ]
    path = f"{PLANS}/{ids['plan']}/agreements"
    replayed = await _send(client, "POST", bo, path, agreement_body(MARK), key="a-1")
    assert replayed["id"] == ids["agreement"] and replayed["text"] == f"{MARK} agreement"
    shown = json.dumps(seen)
    for field in FIELDS:
        assert f"{MARK} {field}" in shown, field
    # ... and the decline note stays the decliner's alone, encrypted or not.
    assert f"{MARK} decline-note" not in json.dumps(
        await _send(client, "GET", bo, f"{PLANS}/{ids['declined']}")
    )
