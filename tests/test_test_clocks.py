"""Test clocks: multi-day rules over HTTP without waiting, outside production only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.config import PROJECT_ROOT, Environment
from app.jobs import push
from app.jobs.context import JobContext
from app.main import create_app
from app.models.couples import Couple
from app.models.push import DeliveryState
from app.services.couples import start_of_local_day
from app.services.notification_settings import DEFAULT_DAILY_PROMPT_TIME
from tests.conftest import MakeUser, Person
from tests.derived_app import client_for
from tests.factories import pair, publish_library
from tests.push_support import deliveries, register
from tests.repair_support import PLANS, active_plan
from tests.repair_support import h as repair_h

CLOCKS = "/v1/test-clocks"
TODAY = "/v1/couples/me/prompts/today"
SCOPES = (
    "couple:read",
    "couple:write",
    "prompts:read",
    "answers:read",
    "answers:write",
    "insights:read",
)
START = datetime(2027, 3, 1, 9, tzinfo=UTC)


def h(person: Person, client_id: str = "rapport-mobile") -> dict[str, str]:
    return person.headers(*SCOPES, client_id=client_id)


@pytest.fixture(autouse=True)
def _forget_attachments(app: FastAPI) -> Iterator[None]:
    yield
    app.state.test_clocks_in_use = False  # the tables are emptied after each test


@pytest.fixture
async def couple(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> tuple[Person, Person, str]:
    await publish_library(app.state.sessionmaker, per_cell=3)
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    couple_id = (await client.get("/v1/couples/me", headers=h(ann))).json()["id"]
    return ann, bo, couple_id


async def make_clock(client: httpx.AsyncClient, owner: Person, at: datetime = START) -> str:
    made = await client.post(CLOCKS, json={"frozen_time": at.isoformat()}, headers=h(owner))
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == f"{CLOCKS}/{made.json()['id']}"
    return str(made.json()["id"])


async def advance(client: httpx.AsyncClient, owner: Person, clock: str, at: datetime) -> None:
    moved = await client.post(
        f"{CLOCKS}/{clock}/advance", json={"frozen_time": at.isoformat()}, headers=h(owner)
    )
    assert moved.status_code == 200, moved.text


async def test_a_clock_is_made_read_advanced_and_deleted(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    clock = await make_clock(client, ann)
    read = (await client.get(f"{CLOCKS}/{clock}", headers=h(ann))).json()
    assert read["frozen_time"] == "2027-03-01T09:00:00Z" and read["couples"] == []
    await advance(client, ann, clock, START + timedelta(days=3))
    read = (await client.get(f"{CLOCKS}/{clock}", headers=h(ann))).json()
    assert read["frozen_time"] == "2027-03-04T09:00:00Z"
    back = await client.post(
        f"{CLOCKS}/{clock}/advance", json={"frozen_time": START.isoformat()}, headers=h(ann)
    )
    assert back.status_code == 422
    assert back.headers["content-type"] == "application/problem+json"
    naive = await client.post(CLOCKS, json={"frozen_time": "2027-03-01T09:00:00"}, headers=h(ann))
    assert naive.status_code == 422
    assert (await client.delete(f"{CLOCKS}/{clock}", headers=h(ann))).status_code == 204
    assert (await client.get(f"{CLOCKS}/{clock}", headers=h(ann))).status_code == 404


async def test_the_couple_lives_at_its_clock(
    client: httpx.AsyncClient, couple: tuple[Person, Person, str], make_user: MakeUser
) -> None:
    ann, bo, couple_id = couple
    stranger = await make_user()
    clock = await make_clock(client, ann)
    attached = await client.post(
        f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann)
    )
    assert attached.status_code == 200, attached.text
    assert attached.json()["couples"] == [couple_id]
    seen: list[dict[str, Any]] = []
    for offset in range(9):
        moment = START + timedelta(days=offset)
        if offset:
            await advance(client, ann, clock, moment)
        today = (await client.get(TODAY, headers=h(bo))).json()
        assert today["date"] == moment.date().isoformat()  # the partner lives at it too
        seen.append(today["prompt"])
        for person in (ann, bo):
            answered = await client.put(
                f"/v1/couples/me/prompts/{today['date']}/answer",
                json={"text": f"day {offset}"},
                headers=h(person),
            )
            assert answered.status_code == 200, answered.text
        assert answered.json()["state"] == "revealed"
        insights = (await client.get("/v1/couples/me/insights", headers=h(ann))).json()
        assert insights["streak"]["days"] == offset + 1
    depths = [prompt["depth"] for prompt in seen]
    assert max(depths[:2]) == 1 and max(depths) > 1  # the depth progressed over days
    # Someone outside the couple lives at the real time.
    theirs = await client.get("/v1/me", headers=stranger.headers("profile"))
    assert theirs.status_code == 200
    # Deleting the clock gives the couple back the real time.
    assert (await client.delete(f"{CLOCKS}/{clock}", headers=h(ann))).status_code == 204
    real = (await client.get(TODAY, headers=h(ann))).json()
    assert real["date"] != (START + timedelta(days=8)).date().isoformat()


async def test_an_unanswered_day_closes_when_the_clock_moves_on(
    client: httpx.AsyncClient, couple: tuple[Person, Person, str]
) -> None:
    ann, bo, couple_id = couple
    clock = await make_clock(client, ann)
    await client.post(f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann))
    day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    await advance(client, ann, clock, START + timedelta(days=2))
    late = await client.put(
        f"/v1/couples/me/prompts/{day}/answer", json={"text": "late"}, headers=h(bo)
    )
    assert late.status_code in {409, 422}, late.text
    insights = (await client.get("/v1/couples/me/insights", headers=h(ann))).json()
    assert insights["streak"]["days"] == 0


async def test_who_must_not_use_a_clock(
    client: httpx.AsyncClient, couple: tuple[Person, Person, str], make_user: MakeUser
) -> None:
    ann, bo, couple_id = couple
    stranger = await make_user()
    clock = await make_clock(client, ann)
    # Someone else's clock is not there for them, not even for the partner.
    for person in (stranger, bo):
        assert (await client.get(f"{CLOCKS}/{clock}", headers=h(person))).status_code == 404
        refused = await client.post(
            f"{CLOCKS}/{clock}/advance",
            json={"frozen_time": (START + timedelta(days=1)).isoformat()},
            headers=h(person),
        )
        assert refused.status_code == 404
        assert (await client.delete(f"{CLOCKS}/{clock}", headers=h(person))).status_code == 404
    # A stranger cannot put someone else's couple on their clock.
    theirs = await make_clock(client, stranger)
    attach = await client.post(
        f"{CLOCKS}/{theirs}/couples", json={"couple_id": couple_id}, headers=h(stranger)
    )
    assert attach.status_code == 404
    # A third-party app cannot make or use one.
    third = await client.post(
        CLOCKS, json={"frozen_time": START.isoformat()}, headers=h(ann, "partner-app")
    )
    assert third.status_code == 403
    assert third.json()["type"] == "/problems/first-party-only"
    assert (await client.get(f"{CLOCKS}/{clock}", headers=h(ann, "partner-app"))).status_code == 403
    # Without a token or the scope: 401 and 403.
    assert (await client.post(CLOCKS, json={"frozen_time": START.isoformat()})).status_code == 401
    no_scope = await client.get(f"{CLOCKS}/{clock}", headers=ann.headers("profile"))
    assert no_scope.status_code == 403
    # One couple, one clock.
    await client.post(f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann))
    other = await make_clock(client, bo)
    second = await client.post(
        f"{CLOCKS}/{other}/couples", json={"couple_id": couple_id}, headers=h(bo)
    )
    assert second.status_code == 409


async def test_production_has_no_test_clocks(app: FastAPI, make_user: MakeUser) -> None:
    ann = await make_user()
    settings = app.state.settings.model_copy(update={"environment": Environment.production})
    production = create_app(settings)
    production.state._state.update(
        {k: v for k, v in app.state._state.items() if k not in {"settings", "test_clock_reader"}}
    )
    assert not hasattr(production.state, "test_clock_reader")
    async with client_for(production) as http:
        made = await http.post(CLOCKS, json={"frozen_time": START.isoformat()}, headers=h(ann))
    assert made.status_code == 404


async def test_the_published_schema_lists_no_test_clocks(client: httpx.AsyncClient) -> None:
    # Mounted here (test environment: 401 without a token, not 404) yet hidden: the
    # committed schema never names them.
    assert (await client.post(CLOCKS, json={"frozen_time": START.isoformat()})).status_code == 401
    assert "test-clocks" not in (PROJECT_ROOT / "openapi" / "openapi.json").read_text("utf-8")


async def test_the_support_suggestion_appears_as_days_pass(
    client: httpx.AsyncClient, couple: tuple[Person, Person, str]
) -> None:
    ann, bo, couple_id = couple
    clock = await make_clock(client, ann)
    await client.post(f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann))
    suggested = []
    for offset in (0, 5, 10, 15):
        if offset:
            await advance(client, ann, clock, START + timedelta(days=offset))
        recorded = await client.post(
            "/v1/checkins",
            json={"mood": 1, "visibility": "partner"},
            headers=bo.headers("checkins:write", "checkins:read"),
        )
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["local_date"] == (START + timedelta(days=offset)).date().isoformat()
        insights = (await client.get("/v1/couples/me/insights", headers=h(ann))).json()
        suggested.append(insights["suggest_professional_support"]["suggested"])
    # Four low shared check-ins spanning at least 14 days: only the last day suggests support.
    assert suggested == [False, False, False, True]


async def test_repair_trust_weeks_follow_the_clock(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    couple_id = (await client.get("/v1/couples/me", headers=h(ann))).json()["id"]
    clock = await make_clock(client, ann)
    await client.post(f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann))
    plan = (await active_plan(client, ann, bo, hurt_user_id=str(ann.id)))["id"]
    reasons = []
    for week in range(3):
        if week:
            await advance(client, ann, clock, START + timedelta(weeks=week))
        rated = await client.post(
            f"{PLANS}/{plan}/trust-ratings", json={"score": 5}, headers=repair_h(ann)
        )
        assert rated.status_code == 201, rated.text
        insights = (await client.get("/v1/couples/me/insights", headers=h(ann))).json()
        reasons.append([r["code"] for r in insights["suggest_professional_support"]["reasons"]])
    # Three weeks of flat trust, measured in the clock's weeks: the support suggestion says so.
    assert reasons == [[], [], ["trust_not_rising"]]
    series = (await client.get(f"{PLANS}/{plan}/trust-ratings", headers=repair_h(ann))).json()
    starts = [week["week_start"] for week in series["partners"][0]["weekly_medians"]]
    assert starts == ["2027-03-01", "2027-03-08", "2027-03-15"]


async def test_the_persons_account_keeps_the_real_time(
    client: httpx.AsyncClient, couple: tuple[Person, Person, str]
) -> None:
    ann, _bo, couple_id = couple
    clock = await make_clock(client, ann, datetime(2030, 1, 1, tzinfo=UTC))
    await client.post(f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann))
    closed = await client.request(
        "DELETE", "/v1/me", json={"password": ann.password}, headers=ann.headers("profile")
    )
    assert closed.status_code == 202, closed.text
    assert closed.json()["erase_after"] < "2030-01-01"  # the grace period counts real days


async def test_a_development_process_finds_clocks_attached_before_it_started(
    app: FastAPI, client: httpx.AsyncClient, couple: tuple[Person, Person, str]
) -> None:
    ann, _bo, couple_id = couple
    clock = await make_clock(client, ann)
    await client.post(f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann))
    settings = app.state.settings.model_copy(update={"environment": Environment.development})
    development = create_app(settings)
    kept = {"settings", "test_clocks_in_use", "test_clock_reader"}
    development.state._state.update({k: v for k, v in app.state._state.items() if k not in kept})
    assert development.state.test_clocks_in_use is None  # unknown until the first request
    async with client_for(development) as http:
        today = (await http.get(TODAY, headers=h(ann))).json()
    assert today["date"] == START.date().isoformat()
    assert development.state.test_clocks_in_use is True


async def test_the_daily_reminder_comes_when_the_clock_reaches_its_time(
    client: httpx.AsyncClient, couple: tuple[Person, Person, str], app: FastAPI
) -> None:
    ann, _bo, couple_id = couple
    await register(client, ann)  # Bo has no device: nothing for him
    clock = await make_clock(client, ann)
    attached = await client.post(
        f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann)
    )
    assert attached.status_code == 200, attached.text
    real = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # not the reminder's time anywhere near

    def at_real_time(environment: Environment = Environment.test) -> JobContext:
        settings = app.state.settings.model_copy(update={"environment": environment})
        return JobContext(app.state.sessionmaker, settings, clock=lambda: real)

    assert await push.daily_reminders(at_real_time()) == 0  # 09:00 at the clock
    evening = START.replace(hour=DEFAULT_DAILY_PROMPT_TIME.hour, minute=5)
    await advance(client, ann, clock, evening)
    # Production never reads a clock: the real noon reminds nobody.
    assert await push.daily_reminders(at_real_time(Environment.production)) == 0
    assert await push.daily_reminders(at_real_time()) == 2  # decided, then sent
    reminders = await deliveries(app.state.sessionmaker)
    assert [(d.user_id, d.key) for d in reminders] == [(ann.id, "daily_prompt:2027-03-01")]
    assert reminders[0].created_at == evening  # the rules ran at the clock's time
    assert reminders[0].state is DeliveryState.sent  # and it went out on the real one
    assert await push.daily_reminders(at_real_time()) == 0  # once


async def test_leaving_happens_at_the_couples_clock_time(
    client: httpx.AsyncClient, couple: tuple[Person, Person, str], app: FastAPI
) -> None:
    ann, _, couple_id = couple
    clock = await make_clock(client, ann)
    attached = await client.post(
        f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=h(ann)
    )
    assert attached.status_code == 200, attached.text
    left = await client.post("/v1/couples/me/leave", headers=h(ann))
    assert left.status_code == 204, left.text
    async with app.state.sessionmaker() as session:
        row = (
            await session.execute(
                select(Couple.ended_at, Couple.timezone).where(Couple.id == uuid.UUID(couple_id))
            )
        ).one()
    ended, timezone = row
    assert ended is not None
    assert ended.astimezone(UTC) == start_of_local_day(START, timezone)
