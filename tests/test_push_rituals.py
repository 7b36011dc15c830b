"""The weekly ritual's reminder: "your weekly check-in is due" to each partner at the
scheduled weekday's local time (the couple's time zone, under its test clock), once, with
no words; not to a partner who turned it off, not in quiet hours, not once that week's
ritual is over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from app.config import Environment
from app.jobs import push
from app.jobs.context import JobContext
from app.models.push import DeliveryState, NotificationKind
from app.services.notifications import MESSAGES
from tests.conftest import MakeUser, Person
from tests.factories import pair
from tests.push_support import SETTINGS, deliveries, register
from tests.rituals_support import RITUALS, advance, couple_clock, h, ok, schedule, start_ritual

pytestmark = pytest.mark.usefixtures("first_party_client")

SATURDAY = datetime(2027, 3, 27, 12, tzinfo=UTC)
REAL = datetime(2026, 12, 2, 12, tzinfo=UTC)  # the real time the pushes go out on


@pytest.fixture(autouse=True)
def _forget_attachments(app: FastAPI) -> Iterator[None]:
    yield
    app.state.test_clocks_in_use = False


def _job(app: FastAPI, environment: Environment = Environment.test) -> JobContext:
    settings = app.state.settings.model_copy(update={"environment": environment})
    return JobContext(app.state.sessionmaker, settings, clock=lambda: REAL)


async def _couple(client: httpx.AsyncClient, make_user: MakeUser) -> tuple[Person, Person, str]:
    ann = await make_user(timezone="Europe/Berlin")
    bo = await make_user()
    await pair(client, ann, bo)
    for person in (ann, bo):
        await register(client, person)
    couple = ok(await client.get("/v1/couples/me", headers=ann.headers("couple:read")))
    clock = await couple_clock(client, ann, str(couple["id"]), SATURDAY)
    return ann, bo, clock


async def _rituals_pushed(app: FastAPI) -> list[tuple[object, str]]:
    await push.daily_reminders(_job(app))
    return [
        (d.user_id, d.key)
        for d in await deliveries(app.state.sessionmaker)
        if d.kind is NotificationKind.weekly_ritual
    ]


async def test_the_reminder_comes_once_at_the_scheduled_local_time(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, clock = await _couple(client, make_user)
    # The weekly cap holds back nudges, not the appointment the couple made.
    capped = await client.patch(
        SETTINGS, json={"weekly_nudge_cap": 0}, headers=ann.headers("profile")
    )
    assert capped.status_code == 200, capped.text
    ok(await schedule(client, bo, "sunday", "19:00"), 201)
    assert await _rituals_pushed(app) == []  # Saturday noon
    await advance(client, ann, clock, datetime(2027, 3, 28, 16, 59, tzinfo=UTC))
    assert await _rituals_pushed(app) == []  # 18:59 in Berlin (summer time since 03:00)
    await advance(client, ann, clock, datetime(2027, 3, 28, 17, 0, tzinfo=UTC))
    # Production never reads a clock.
    await push.daily_reminders(_job(app, Environment.production))
    key = "weekly_ritual:2027-03-28"
    assert sorted(await _rituals_pushed(app), key=str) == sorted(
        [(ann.id, key), (bo.id, key)], key=str
    )
    for later in (17, 30), (17, 59):
        await advance(client, ann, clock, datetime(2027, 3, 28, *later, tzinfo=UTC))
        assert len(await _rituals_pushed(app)) == 2  # a rerun, a restart: nothing twice
    reminders = [
        d
        for d in await deliveries(app.state.sessionmaker)
        if d.kind is NotificationKind.weekly_ritual
    ]
    assert {d.state for d in reminders} == {DeliveryState.sent}
    assert all(set(d.data) == {"couple_id", "week_of"} for d in reminders)
    kinds = {(d.user_id, d.kind) for d in await deliveries(app.state.sessionmaker)}
    assert (bo.id, NotificationKind.daily_prompt) in kinds  # Bo's daily nudge came too
    assert {kind for who, kind in kinds if who == ann.id} == {NotificationKind.weekly_ritual}
    # A week later, the next one.
    await advance(client, ann, clock, datetime(2027, 4, 4, 17, 0, 30, tzinfo=UTC))
    assert len(await _rituals_pushed(app)) == 4


async def test_not_when_turned_off_in_quiet_hours_or_once_the_ritual_is_over(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, clock = await _couple(client, make_user)
    turned_off = await client.patch(
        SETTINGS, json={"types": {"weekly_ritual": False}}, headers=bo.headers("profile")
    )
    assert turned_off.status_code == 200, turned_off.text
    assert turned_off.json()["types"]["weekly_ritual"] is False
    ok(await schedule(client, ann, "sunday", "23:00"), 201)  # inside the default 22:00-08:00
    await advance(client, ann, clock, datetime(2027, 3, 28, 21, 0, tzinfo=UTC))
    assert await _rituals_pushed(app) == []
    ok(await schedule(client, ann, "sunday", "20:00"))
    assert await _rituals_pushed(app) == []  # 23:00 now: 20:00 passed over an hour ago

    # Next Sunday at 20:00: Ann only, as Bo turned it off.
    await advance(client, ann, clock, datetime(2027, 4, 4, 18, 0, tzinfo=UTC))
    assert await _rituals_pushed(app) == [(ann.id, "weekly_ritual:2027-04-04")]

    # The Sunday after, the couple held its ritual in the morning and ended it: no reminder.
    await advance(client, ann, clock, datetime(2027, 4, 11, 8, 0, tzinfo=UTC))
    rid = (await start_ritual(client, ann))["id"]
    ok(await client.post(f"{RITUALS}/{rid}/end", headers=h(ann)))
    await advance(client, ann, clock, datetime(2027, 4, 11, 18, 1, tzinfo=UTC))
    assert len(await _rituals_pushed(app)) == 1


def test_the_message_is_localized_and_has_no_words() -> None:
    bodies = {
        language: MESSAGES[language][NotificationKind.weekly_ritual].body for language in MESSAGES
    }
    assert set(bodies) == {"en", "de", "es"}
    assert bodies["en"] == "Your weekly check-in is due."
    assert len(set(bodies.values())) == 3
    assert json.dumps(bodies)  # plain, fixed text


async def test_on_the_fall_back_night_the_repeated_hour_reminds_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, _bo, clock = await _couple(client, make_user)
    no_quiet = {"quiet_hours_start": None, "quiet_hours_end": None}
    assert (
        await client.patch(SETTINGS, json=no_quiet, headers=ann.headers("profile"))
    ).status_code == 200
    # Berlin, 31 October 2027: 02:30 comes twice, at 00:30 and at 01:30 UTC.
    ok(await schedule(client, ann, "sunday", "02:30"), 201)
    await advance(client, ann, clock, datetime(2027, 10, 31, 0, 31, tzinfo=UTC))
    key = "weekly_ritual:2027-10-31"
    assert await _rituals_pushed(app) == [(ann.id, key)]  # the first 02:30 (summer time)
    await advance(client, ann, clock, datetime(2027, 10, 31, 1, 31, tzinfo=UTC))
    assert await _rituals_pushed(app) == [(ann.id, key)]  # the second: nothing more
