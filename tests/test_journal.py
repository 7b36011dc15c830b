"""The private journal: its author's alone, with tags, autocomplete and patterns over time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event, JournalEntry, JournalLabel, Role
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair

READ, WRITE = "journal:read", "journal:write"
T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SECRET = "When she goes quiet I shut down, the way I did as a kid"


def h(person: Person, *scopes: str) -> dict[str, str]:
    return person.headers(*(scopes or (READ, WRITE)))


async def write(client: httpx.AsyncClient, person: Person, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/journal", json={"body": "…", **fields}, headers=h(person))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_write_and_read_an_entry(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann = await make_user(timezone="America/Los_Angeles")
    clock.set(T0.replace(hour=3))  # 20:00 the evening before in Los Angeles
    created = await client.post(
        "/v1/journal",
        json={
            "body": SECRET,
            "pattern_tags": ["Withdrawing", "people  pleasing", "withdrawing "],
            "emotions": ["scared.rejected", "sad.lonely", "scared.rejected"],
        },
        headers=h(ann),
    )
    assert created.status_code == 201, created.text
    entry = created.json()
    assert created.headers["location"] == f"/v1/journal/{entry['id']}"
    assert entry["pattern_tags"] == ["withdrawing", "people pleasing"]
    assert entry["emotions"] == ["scared.rejected", "sad.lonely"]
    assert entry["local_date"] == "2026-06-14"
    fetched = await client.get(f"/v1/journal/{entry['id']}", headers=h(ann, READ))
    assert fetched.json() == entry and fetched.headers["etag"] == created.headers["etag"]
    cached = await client.get(
        f"/v1/journal/{entry['id']}",
        headers={**h(ann, READ), "If-None-Match": fetched.headers["etag"]},
    )
    assert cached.status_code == 304


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"body": ""}, "#/body"),
        ({"body": "x" * 20_001}, "#/body"),
        ({"body": "x", "pattern_tags": ["x" * 41]}, "#/pattern_tags/0"),
        ({"body": "x", "pattern_tags": ["ok", "<script>"]}, "#/pattern_tags/1"),
        ({"body": "x", "pattern_tags": ["   "]}, "#/pattern_tags/0"),
        ({"body": "x", "pattern_tags": [f"t{i}" for i in range(21)]}, "#/pattern_tags"),
        ({"body": "x", "emotions": ["sad.lonely", "sad.blue"]}, "#/emotions/1"),
        ({"body": "x", "mood": 3}, "#/mood"),
        ({"body": "lone \ud800 surrogate"}, "#/body"),
        ({"body": "x", "pattern_tags": ["a\udfffb"]}, "#/pattern_tags/0"),
    ],
)
async def test_invalid_entries_are_refused(
    client: httpx.AsyncClient, make_user: MakeUser, body: dict[str, Any], pointer: str
) -> None:
    refused = await client.post(
        "/v1/journal",
        content=json.dumps(body),  # ASCII escapes: lone surrogates travel as JSON allows
        headers={**h(await make_user()), "Content-Type": "application/json"},
    )
    assert refused.status_code == 422, refused.text
    assert [e.get("pointer") for e in refused.json()["errors"]] == [pointer], refused.text


async def test_the_journal_is_its_authors_alone(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    cy, di = await make_user(), await make_user()
    await pair(client, cy, di)
    admin = await make_user(role=Role.admin)
    entry = await write(client, ann, body=SECRET, pattern_tags=["withdrawing"])
    token, _ = app.state.tokens.issue(
        subject="partner-app", client_id="partner-app", scope="checkins:read journal:read"
    )
    viewers = {
        "partner": h(bo),
        "other couple": h(cy),
        "admin": h(admin, "admin:content", "admin:users", READ, WRITE),
        "client": {"Authorization": f"Bearer {token}"},
        "no scope": h(ann, "profile", "checkins:read", "checkins:write"),
    }
    path = f"/v1/journal/{entry['id']}"
    calls = {
        "get": ("GET", path, None),
        "list": ("GET", "/v1/journal?limit=100", None),
        "tags": ("GET", "/v1/journal/tags", None),
        "patterns": ("GET", "/v1/journal/patterns?window=30d", None),
        "patch": ("PATCH", path, {"body": "mine now"}),
        "delete": ("DELETE", path, None),
    }
    nobody = {"get": 404, "list": [], "tags": [], "patterns": 0, "patch": 404, "delete": 404}
    expected = {
        "partner": nobody,
        "other couple": nobody,
        "admin": nobody,
        "client": dict.fromkeys(calls, 403),
        "no scope": dict.fromkeys(calls, 403),
    }
    seen: dict[str, dict[str, Any]] = {}
    for who, headers in viewers.items():
        seen[who] = {}
        for name, (method, url, body) in calls.items():
            response = await client.request(
                method, url, json=body, headers={**headers, "If-Match": "*"}
            )
            assert SECRET not in response.text and "withdrawing" not in response.text
            outcome: Any = response.status_code
            if response.status_code == 200 and name == "list":
                outcome = response.json()["data"]
            elif response.status_code == 200 and name == "tags":
                outcome = response.json()
            elif response.status_code == 200 and name == "patterns":
                outcome = response.json()["entries"]
            seen[who][name] = outcome
    assert seen == expected
    mine = await client.get(path, headers=h(ann, READ))
    assert mine.status_code == 200 and mine.json()["body"] == SECRET
    # The journal writes no events: nothing of it reaches a feed or a webhook.
    assert not [e for e in await db.scalars(select(Event)) if e.type.startswith("journal")]
    assert not [d for d in await db.scalars(select(Event.data)) if entry["id"] in str(d)]


async def test_tags_with_counts_for_autocomplete(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann, bo = await make_user(), await make_user()
    clock.set(T0 - timedelta(days=3))
    await write(client, ann, pattern_tags=["withdrawing", "people pleasing"])
    clock.set(T0)
    await write(client, ann, pattern_tags=["withdrawing", "perfectionism"])
    await write(client, ann, pattern_tags=["Withdrawing"])
    await write(client, bo, pattern_tags=["withdrawing", "peace_keeping"])
    tags = await client.get("/v1/journal/tags", headers=h(ann, READ))
    assert tags.json() == [
        {"tag": "withdrawing", "count": 3, "last_used": "2026-06-15"},
        {"tag": "people pleasing", "count": 1, "last_used": "2026-06-12"},
        {"tag": "perfectionism", "count": 1, "last_used": "2026-06-15"},
    ]
    some = await client.get("/v1/journal/tags?prefix=PE&limit=1", headers=h(ann, READ))
    assert [t["tag"] for t in some.json()] == ["people pleasing"]
    # LIKE wildcards in the prefix are plain characters.
    assert (await client.get("/v1/journal/tags?prefix=%25", headers=h(ann))).json() == []
    nul = await client.get("/v1/journal/tags", params={"prefix": "a\u0000"}, headers=h(ann))
    assert nul.status_code == 422


async def test_list_filters_by_tag_and_pages(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann = await make_user()
    for day in range(5):
        clock.set(T0 + timedelta(days=day))
        await write(client, ann, body=f"day {day}", pattern_tags=["withdrawing"] if day % 2 else [])
    page = await client.get("/v1/journal?limit=3", headers=h(ann, READ))
    assert [e["body"] for e in page.json()["data"]] == ["day 4", "day 3", "day 2"]
    rest = await client.get(
        f"/v1/journal?limit=3&cursor={page.json()['next_cursor']}", headers=h(ann, READ)
    )
    assert [e["body"] for e in rest.json()["data"]] == ["day 1", "day 0"]
    tagged = await client.get("/v1/journal?tag=Withdrawing", headers=h(ann, READ))
    assert [e["body"] for e in tagged.json()["data"]] == ["day 3", "day 1"]
    dated = await client.get("/v1/journal?from=2026-06-16&to=2026-06-17", headers=h(ann))
    assert [e["body"] for e in dated.json()["data"]] == ["day 2", "day 1"]


async def test_changes_need_if_match_and_keep_the_tag_counts_true(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann = await make_user()
    entry = await write(client, ann, pattern_tags=["withdrawing"], emotions=["sad.lonely"])
    url = f"/v1/journal/{entry['id']}"
    assert (await client.patch(url, json={"body": "x"}, headers=h(ann))).status_code == 428
    stale = await client.patch(url, json={"body": "x"}, headers={**h(ann), "If-Match": '"old"'})
    assert stale.status_code == 412
    etag = (await client.get(url, headers=h(ann))).headers["etag"]
    changed = await client.patch(
        url,
        json={"pattern_tags": ["blaming"], "emotions": None},
        headers={**h(ann), "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["pattern_tags"] == ["blaming"]
    assert changed.json()["emotions"] == ["sad.lonely"]  # null leaves a field as it is
    tags = (await client.get("/v1/journal/tags", headers=h(ann))).json()
    assert [t["tag"] for t in tags] == ["blaming"]

    assert (await client.delete(url, headers={**h(ann), "If-Match": etag})).status_code == 412
    assert (await client.delete(url, headers=h(ann))).status_code == 204
    assert (await client.get(url, headers=h(ann))).status_code == 404
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 0
    assert await db.scalar(select(func.count()).select_from(JournalLabel)) == 0


async def test_patterns_count_tags_and_emotions_against_the_window_before(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann, bo = await make_user(), await make_user()
    history: list[tuple[int, list[str], list[str]]] = [
        # days before today, tags, emotions
        (0, ["withdrawing"], ["scared.anxious"]),
        (2, ["withdrawing", "people pleasing"], ["scared.anxious", "sad.lonely"]),
        (6, ["withdrawing"], []),  # the first day of the window
        (7, ["people pleasing"], ["scared.anxious"]),  # the last day of the one before
        (10, ["withdrawing", "criticising"], ["sad.lonely", "mad.resentful"]),
        (13, ["people pleasing"], ["scared.anxious"]),
        (14, ["withdrawing", "criticising"], ["mad.resentful"]),  # outside both windows
    ]
    for days_ago, tags, emotions in history:
        clock.set(T0 - timedelta(days=days_ago))
        await write(client, ann, pattern_tags=tags, emotions=emotions)
    await write(client, bo, pattern_tags=["withdrawing"], emotions=["scared.anxious"])
    clock.set(T0)
    found = await client.get("/v1/journal/patterns?window=7d", headers=h(ann, READ))
    assert found.status_code == 200, found.text
    patterns = found.json()
    assert {k: patterns[k] for k in ("window_days", "start", "end")} == {
        "window_days": 7,
        "start": "2026-06-09",
        "end": "2026-06-15",
    }
    assert (patterns["previous_start"], patterns["previous_end"]) == ("2026-06-02", "2026-06-08")
    assert (patterns["entries"], patterns["previous_entries"]) == (3, 3)
    assert patterns["tags"] == [
        {"tag": "withdrawing", "count": 3, "previous_count": 1, "trend": "up"},
        {"tag": "people pleasing", "count": 1, "previous_count": 2, "trend": "down"},
        {"tag": "criticising", "count": 0, "previous_count": 1, "trend": "down"},
    ]
    assert patterns["emotions"] == [
        {"emotion": "scared.anxious", "count": 2, "previous_count": 2, "trend": "steady"},
        {"emotion": "sad.lonely", "count": 1, "previous_count": 1, "trend": "steady"},
        {"emotion": "mad.resentful", "count": 0, "previous_count": 1, "trend": "down"},
    ]
    top = await client.get("/v1/journal/patterns?window=7d&limit=1", headers=h(ann, READ))
    assert [t["tag"] for t in top.json()["tags"]] == ["withdrawing"]
    default = await client.get("/v1/journal/patterns", headers=h(ann, READ))
    assert default.json()["window_days"] == 90
    assert default.json()["tags"][0] == {
        "tag": "withdrawing",
        "count": 5,
        "previous_count": 0,
        "trend": "up",
    }


@pytest.mark.parametrize("window", ["6d", "366d", "90", "d", "1w", "-7d", "7 d", "123456789d"])
async def test_patterns_refuse_windows_out_of_range(
    client: httpx.AsyncClient, make_user: MakeUser, window: str
) -> None:
    response = await client.get(
        "/v1/journal/patterns", params={"window": window}, headers=h(await make_user(), READ)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "window"


@pytest.mark.parametrize("window", ["7d", "365d"])
async def test_patterns_accept_the_bounds(
    client: httpx.AsyncClient, make_user: MakeUser, window: str
) -> None:
    response = await client.get(
        f"/v1/journal/patterns?window={window}", headers=h(await make_user(), READ)
    )
    assert response.status_code == 200
    assert response.json()["tags"] == [] and response.json()["entries"] == 0


async def test_reading_costs_a_bounded_number_of_queries(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: Any
) -> None:
    ann = await make_user()
    counts = []
    for _ in range(2):
        for n in range(5):
            await write(
                client, ann, pattern_tags=[f"tag {n}", "withdrawing"], emotions=["sad.hurt"]
            )
        measured = []
        for url in (
            "/v1/journal?limit=100",
            "/v1/journal?tag=withdrawing",
            "/v1/journal/tags",
            "/v1/journal/patterns?window=30d",
        ):
            with count_queries() as counter:
                assert (await client.get(url, headers=h(ann, READ))).status_code == 200
            measured.append(counter.count)
        counts.append(measured)
    assert counts[0] == counts[1]
    assert counts[0] == [1, 1, 1, 3], counts


async def test_private_writing_is_not_kept_by_the_idempotency_store(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    from app.models import IdempotencyRecord

    ann = await make_user()
    headers = {**h(ann), "Idempotency-Key": "journal-1"}
    body = {"body": "what I never say out loud", "pattern_tags": ["withdrawing"]}
    first = await client.post("/v1/journal", json=body, headers=headers)
    assert first.status_code == 201
    assert first.headers["cache-control"] == "no-store"
    replay = await client.post("/v1/journal", json=body, headers=headers)
    assert replay.status_code == 409
    assert replay.json()["type"] == "/problems/idempotent-response-withheld"
    assert replay.headers["location"] == first.headers["location"]
    assert "never say" not in replay.text
    stored = await db.scalar(select(IdempotencyRecord))
    assert stored is not None and stored.response_body is None
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 1
