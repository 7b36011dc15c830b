"""Free text at rest: a marker written in every free-text field never reaches the raw
database (the SQLite file and its WAL; PostgreSQL's table contents), while the people
allowed to read it still get it back through the API."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from tests.conftest import MakeUser
from tests.encryption_support import (
    CONVERSATIONS,
    IDEAS,
    MARK,
    MATCHES,
    PLANS,
    RITUALS,
    agreement_body,
    raw_database_text,
    send,
    write_a_marker_everywhere,
)
from tests.factories import pair, publish_library

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
    "conversation-topic",
    "turn-text",
    "idea-title",
    "idea-note",
    "review-note",
    "ritual-appreciation",
    "ritual-went-well",
    "ritual-commitment",
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
        await send(client, "GET", bo, "/v1/me/answers"),
        await send(client, "GET", ann, f"/v1/answers/{ids['answer']}/reflections"),
        await send(client, "GET", bo, f"/v1/checkins/{ids['checkin']}"),
        await send(client, "GET", ann, f"/v1/checkins/{ids['checkin']}/reflections"),
        await send(client, "GET", ann, f"/v1/journal/{ids['entry']}"),
        await send(client, "GET", ann, f"{PLANS}/{ids['declined']}"),
        await send(client, "GET", bo, f"{PLANS}/{ids['plan']}"),
        await send(client, "GET", bo, f"{PLANS}/{ids['plan']}/steps/{ids['step']}"),
        await send(client, "GET", ann, f"{PLANS}/{ids['plan']}/agreements/{ids['agreement']}"),
        await send(client, "GET", ann, f"{PLANS}/{ids['plan']}/trust-ratings"),
        await send(client, "GET", bo, f"{CONVERSATIONS}/{ids['conversation']}"),
        await send(client, "GET", bo, f"{IDEAS}/{ids['idea']}"),
        await send(client, "GET", ann, f"{MATCHES}/{ids['match']}"),
        await send(client, "GET", ann, f"{RITUALS}/{ids['ritual']}"),
    ]
    replayed_idea = await send(
        client,
        "POST",
        ann,
        IDEAS,
        {"title": f"{MARK} idea-title", "note": f"{MARK} idea-note"},
        key="i-1",
    )
    assert replayed_idea["id"] == ids["idea"]
    path = f"{PLANS}/{ids['plan']}/agreements"
    replayed = await send(client, "POST", bo, path, agreement_body(MARK), key="a-1")
    assert replayed["id"] == ids["agreement"] and replayed["text"] == f"{MARK} agreement"
    shown = json.dumps(seen)
    for field in FIELDS:
        assert f"{MARK} {field}" in shown, field
    # ... and the decline note stays the decliner's alone, encrypted or not.
    assert f"{MARK} decline-note" not in json.dumps(
        await send(client, "GET", bo, f"{PLANS}/{ids['declined']}")
    )
