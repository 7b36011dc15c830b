"""Shared by the encryption tests: a marker written through the API into every free-text
field, the raw database as a stolen disk shows it, and the `rapport` command."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, column, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import PROJECT_ROOT, Settings
from app.core.encryption_orm import open_stored
from app.models import Base
from tests.conftest import Person

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
    "conversations:read",
    "conversations:write",
    "activities:read",
    "activities:write",
)
PLANS = "/v1/couples/me/repair-plans"
CONVERSATIONS = "/v1/couples/me/conversations"
IDEAS = "/v1/couples/me/activities/ideas"
MATCHES = "/v1/couples/me/activities/matches"
RITUALS = "/v1/couples/me/rituals"
MARK = "ZQXMARKER"


def h(person: Person) -> dict[str, str]:
    return person.headers(*EVERYTHING)


async def send(
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
    today = await send(client, "GET", ann, "/v1/couples/me/prompts/today")
    answer_path = f"/v1/couples/me/prompts/{today['date']}/answer"
    await send(client, "PUT", ann, answer_path, {"text": f"{mark} answer-text"})
    await send(client, "PUT", bo, answer_path, {"text": "Bo's answer"})
    answers = (await send(client, "GET", bo, "/v1/me/answers"))["data"]
    anns = next(item["partner_answer"] for item in answers if item.get("partner_answer"))
    await send(
        client,
        "POST",
        bo,
        f"/v1/answers/{anns['id']}/reflections",
        {"kind": "reflect", "text": f"{mark} answer-reflection"},
    )
    checkin = await send(client, "POST", ann, "/v1/checkins", checkin_body(mark))
    await send(
        client,
        "POST",
        bo,
        f"/v1/checkins/{checkin['id']}/reflections",
        {"kind": "appreciate", "text": f"{mark} checkin-reflection"},
    )
    entry = await send(client, "POST", ann, "/v1/journal", {"body": f"{mark} journal-body"})
    declined = await send(
        client, "POST", bo, PLANS, {"title": "First try", "hurt_user_id": str(bo.id)}
    )
    await send(
        client,
        "POST",
        ann,
        f"{PLANS}/{declined['id']}/decline",
        {"note": f"{mark} decline-note"},
    )
    plan = await send(
        client, "POST", ann, PLANS, {"title": f"{mark} plan-title", "hurt_user_id": str(ann.id)}
    )
    await send(client, "POST", bo, f"{PLANS}/{plan['id']}/accept")
    step = await send(
        client,
        "POST",
        ann,
        f"{PLANS}/{plan['id']}/steps",
        {"title": f"{mark} step-title", "description": f"{mark} step-text", "owner": "hurt"},
    )
    # A stored response (for an Idempotency-Key) holds the words too.
    agreement = await send(
        client, "POST", bo, f"{PLANS}/{plan['id']}/agreements", agreement_body(mark), key="a-1"
    )
    rating = await send(
        client,
        "POST",
        ann,
        f"{PLANS}/{plan['id']}/trust-ratings",
        {"score": 4, "note": f"{mark} trust-note"},
    )
    conversation = await send(
        client, "POST", ann, CONVERSATIONS, {"topic": f"{mark} conversation-topic"}
    )
    moves = f"{CONVERSATIONS}/{conversation['id']}/moves"
    await send(client, "POST", ann, moves, {"move": "share", "text": f"{mark} turn-text"})
    await send(client, "POST", bo, moves, {"move": "paraphrase", "text": "Bo heard"})
    idea_body = {"title": f"{mark} idea-title", "note": f"{mark} idea-note"}
    idea = await send(client, "POST", ann, IDEAS, idea_body, key="i-1")
    for person in (ann, bo):
        await send(client, "PUT", person, f"{IDEAS}/{idea['id']}/mark", {"mark": "want"})
    [match] = (await send(client, "GET", ann, MATCHES))["data"]
    match_path = f"{MATCHES}/{match['id']}"
    current = await client.get(match_path, headers=h(ann))
    planned = await client.patch(
        match_path,
        json={"planned_for": current.json()["matched_at"][:10]},
        headers=h(ann) | {"If-Match": current.headers["etag"]},
    )
    assert planned.status_code == 200, planned.text
    review = {"rating": 5, "note": f"{mark} review-note"}
    await send(client, "POST", ann, f"{match_path}/reviews", review)
    schedule = {"weekday": "sunday", "local_time": "19:00"}
    await send(client, "PUT", bo, "/v1/couples/me/ritual-schedule", schedule)
    ritual = await send(client, "POST", ann, RITUALS)
    steps = f"{RITUALS}/{ritual['id']}"
    for part, words in (
        ("appreciations", "ritual-appreciation"),
        ("went_well", "ritual-went-well"),
    ):
        entry_body = {"step": part, "text": f"{mark} {words}"}
        await send(client, "POST", ann, f"{steps}/entries", entry_body)
        await send(client, "POST", ann, f"{steps}/steps/{part}/finish")
    await send(client, "PUT", ann, f"{steps}/issue", {"skip": True})
    await send(client, "POST", ann, f"{steps}/commitments", {"text": f"{mark} ritual-commitment"})
    return {
        "answer": anns["id"],
        "checkin": checkin["id"],
        "entry": entry["id"],
        "declined": declined["id"],
        "plan": plan["id"],
        "step": step["id"],
        "agreement": agreement["id"],
        "rating": rating["id"],
        "conversation": conversation["id"],
        "idea": idea["id"],
        "match": match_path.rsplit("/", 1)[1],
        "ritual": ritual["id"],
    }


_CAT = "import sys\nfor name in sys.argv[1:]:\n    sys.stdout.buffer.write(open(name, 'rb').read())"


async def raw_database_text(engine: AsyncEngine, settings: Settings) -> str:
    """What a stolen disk holds: the SQLite file and its WAL, or every PostgreSQL row."""
    if engine.dialect.name == "sqlite":
        path = Path(settings.database_url.split(":///", 1)[1])
        files = [str(p) for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
        # Read in another process: closing any descriptor of the database file in this one
        # would drop all of this process's POSIX locks on it, which SQLite relies on.
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _CAT, *files, stdout=asyncio.subprocess.PIPE
        )
        content, _ = await asyncio.wait_for(child.communicate(), 60)
        assert child.returncode == 0
        return content.decode("latin-1")
    dumped: list[str] = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = await connection.execute(text(f'SELECT t::text FROM "{table.name}" t'))  # noqa: S608
            dumped.extend(row[0] for row in rows)
    return "\n".join(dumped)


def rapport_command() -> list[str]:
    script = Path(sys.executable).with_name("rapport")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def rapport_environment(database: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        RAPPORT_LOG_LEVEL="WARNING",
        RAPPORT_ARGON2_TIME_COST="1",
        RAPPORT_ARGON2_MEMORY_KIB="8",
        RAPPORT_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
    )
    env.update({f"RAPPORT_{name.upper()}": value for name, value in settings.items()})
    return env


# (table, column, owner column): where each person's words live.
SEALED = (
    ("answers", "text", "user_id"),
    ("reflections", "text", "author_id"),
    ("checkins", "note", "user_id"),
    ("checkins", "request", "user_id"),
    ("journal_entries", "body", "user_id"),
    ("repair_plans", "title", "proposed_by"),
    ("repair_plans", "decline_note", "declined_by"),
    ("repair_steps", "title", "written_by"),
    ("repair_steps", "description", "written_by"),
    ("repair_agreement_versions", "text", "proposed_by"),
    ("repair_trust_ratings", "note", "user_id"),
    ("conversations", "topic", "started_by"),
    ("conversation_turns", "text", "author_id"),
    ("activity_ideas", "title", "author_id"),
    ("activity_ideas", "note", "author_id"),
    ("activity_reviews", "note", "user_id"),
    ("ritual_entries", "text", "author_id"),
    ("ritual_commitments", "text", "owner_id"),
)


Copied = list[tuple[str, str, uuid.UUID, str]]


async def copy_ciphertext(engine: AsyncEngine, owner: uuid.UUID) -> Copied:
    """The person's sealed values, as a backup of those rows would hold them."""
    copied: Copied = []
    async with engine.connect() as connection:
        for name, field, owner_field in SEALED:
            source = table(name, column("id"), column(field), column(owner_field))
            rows = await connection.execute(
                select(source.c.id, source.c[field]).where(source.c[owner_field] == owner)
            )
            copied.extend((name, field, uuid.UUID(str(i)), v) for i, v in rows if v)
    return copied


async def opened(engine: AsyncEngine, copied: Copied) -> list[Any]:
    def work(connection: Connection) -> list[Any]:
        return [open_stored({}, connection, t, c, i, v) for t, c, i, v in copied]

    async with engine.connect() as connection:
        return await connection.run_sync(work)
