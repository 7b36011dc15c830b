"""Who gets which push, and what it says: the partner (never the author, an ex-partner, a
person who turned the kind off, or someone else's device), quiet hours, the weekly cap, and
lock-screen text that carries no answer, note or name. Nothing is sent twice."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from app.config import Settings
from app.jobs import push
from app.jobs.context import JobContext
from app.models.push import DeliveryState
from app.push.base import LogSender, Sent
from app.push.senders import Senders, senders_for
from app.services import answers, daily
from app.services.clients import register_client
from app.services.couples import create_couple, join_couple, leave_any_couple, require_couple
from app.services.notifications_daily import queue_daily_reminders
from app.services.notifications_events import push_events
from app.services.notifications_send import send_due
from tests.conftest import MakeUser, Person
from tests.factories import publish_library
from tests.push_support import (
    SETTINGS,
    Sessions,
    deliveries,
    h,
    log_senders,
    register,
    run_pushes,
    sent,
    transaction,
)

pytestmark = pytest.mark.usefixtures("first_party_client")

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
SECRET = "the-answer-marker-7f3a"
NOTE = "the-note-marker-91bc"


@pytest.fixture
def senders() -> Senders:
    return log_senders()


async def run(sessionmaker: Sessions, senders: Senders, now: datetime = NOW) -> int:
    return await run_pushes(sessionmaker, senders, now)


@pytest.fixture
async def people(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: Sessions
) -> tuple[Person, Person, Person]:
    """Ann and Bo, a couple, and Cy, a stranger; each with a device."""
    await publish_library(sessionmaker)
    ann, bo = await make_user(display_name="Annabel"), await make_user(display_name="Bonifaz")
    cy = await make_user(display_name="Cyprian")
    async with transaction(sessionmaker) as session:
        key = ann.app.state.settings.secret_key
        _, _, code = await create_couple(session, ann.member(), secret_key=key)
        await join_couple(session, bo.member(), code, secret_key=key)
    for person in (ann, bo, cy):
        await register(client, person)
    return ann, bo, cy


async def answer(sessionmaker: Sessions, person: Person, text: str = SECRET) -> None:
    member = person.member("prompts:read", "answers:read", "answers:write")
    async with transaction(sessionmaker) as session:
        couple = await require_couple(session, person.id)
        day = await daily.today(session, couple, NOW)
        await answers.submit_answer(session, member, couple, day.daily.local_date, text, NOW)


def assert_neutral(messages: list[Sent]) -> None:
    for message in messages:
        shown = json.dumps([message.message.title, message.message.body, message.message.data])
        for marker in (SECRET, NOTE, "Annabel", "Bonifaz", "Cyprian", "lonely", "anxious"):
            assert marker not in shown


async def test_your_partner_answered_reaches_the_partner_alone(
    sessionmaker: Sessions, senders: Senders, people: tuple[Person, Person, Person]
) -> None:
    ann, bo, _cy = people
    await answer(sessionmaker, ann)
    assert await run(sessionmaker, senders) == 1
    (only,) = sent(senders)
    assert only.message.body == "Your partner answered today's prompt."
    assert only.message.data["kind"] == "partner_answered"
    assert set(only.message.data) == {"kind", "couple_id", "daily_prompt_id"}
    (delivery,) = await deliveries(sessionmaker)
    assert delivery.user_id == bo.id and delivery.state is DeliveryState.sent
    assert_neutral(sent(senders))
    # A rerun (or a restart) sends nothing again.
    assert await run(sessionmaker, senders) == 0
    async with transaction(sessionmaker) as session:  # the mark moved: nothing read twice
        assert await push_events(session, NOW, 100) == 0
    assert len(sent(senders)) == 1


async def test_the_reveal_goes_to_the_first_to_answer(
    sessionmaker: Sessions, senders: Senders, people: tuple[Person, Person, Person]
) -> None:
    ann, bo, _cy = people
    await answer(sessionmaker, ann)
    await answer(sessionmaker, bo, "another-marker the-answer-marker-7f3a")
    await run(sessionmaker, senders)
    (only,) = sent(senders)  # Bo revealed both himself: he gets nothing, Ann the reveal
    assert only.message.data["kind"] == "answers_revealed"
    assert [d.user_id for d in await deliveries(sessionmaker)] == [ann.id]
    assert_neutral(sent(senders))


async def test_a_shared_check_in_reaches_the_partner_a_private_one_nobody(
    client: httpx.AsyncClient,
    sessionmaker: Sessions,
    senders: Senders,
    people: tuple[Person, Person, Person],
) -> None:
    ann, bo, _cy = people
    for visibility in ("private", "partner"):
        body = {
            "mood": 2,
            "emotions": ["sad.lonely", "scared.anxious"],
            "note": NOTE,
            "visibility": visibility,
        }
        created = await client.post("/v1/checkins", json=body, headers=h(ann))
        assert created.status_code == 201, created.text
    await run(sessionmaker, senders)
    (only,) = sent(senders)
    assert only.message.data["kind"] == "checkin_shared"
    assert only.message.body == "Your partner shared a check-in with you."
    assert [d.user_id for d in await deliveries(sessionmaker)] == [bo.id]
    assert_neutral(sent(senders))


async def test_nothing_for_a_kind_turned_off(
    client: httpx.AsyncClient,
    sessionmaker: Sessions,
    senders: Senders,
    people: tuple[Person, Person, Person],
) -> None:
    ann, bo, _cy = people
    off = await client.patch(SETTINGS, json={"types": {"partner_answered": False}}, headers=h(bo))
    assert off.status_code == 200, off.text
    assert off.json()["types"]["partner_answered"] is False
    await answer(sessionmaker, ann)
    await run(sessionmaker, senders)
    assert sent(senders) == []


async def test_nothing_for_an_ex_partner(
    sessionmaker: Sessions, senders: Senders, people: tuple[Person, Person, Person]
) -> None:
    ann, bo, _cy = people
    await answer(sessionmaker, ann)
    async with transaction(sessionmaker) as session:
        await leave_any_couple(session, bo.id, NOW)
    await run(sessionmaker, senders)
    assert sent(senders) == []


async def test_quiet_hours_delay_news_until_they_end(
    sessionmaker: Sessions, senders: Senders, people: tuple[Person, Person, Person]
) -> None:
    _ann, bo, _cy = people
    late = datetime(2026, 4, 1, 23, 30, tzinfo=UTC)  # default quiet hours 22:00-08:00
    await answer(sessionmaker, _ann)
    assert await run(sessionmaker, senders, late) == 0
    (delivery,) = await deliveries(sessionmaker, bo.id)
    assert delivery.next_attempt_at == datetime(2026, 4, 2, 8, tzinfo=UTC)
    assert await send_due(sessionmaker, senders, late + timedelta(hours=8)) == 0
    assert await send_due(sessionmaker, senders, datetime(2026, 4, 2, 8, tzinfo=UTC)) == 1


async def test_the_daily_reminder_comes_once_at_the_chosen_time(
    client: httpx.AsyncClient,
    sessionmaker: Sessions,
    senders: Senders,
    people: tuple[Person, Person, Person],
) -> None:
    ann, bo, _cy = people
    await client.patch(SETTINGS, json={"daily_prompt_time": "18:30"}, headers=h(bo))
    await answer(sessionmaker, ann)  # Ann answered already: no reminder for her
    async with transaction(sessionmaker) as session:
        assert await queue_daily_reminders(session, datetime(2026, 4, 1, 18, 29, tzinfo=UTC)) == 0
    for minute in (30, 31, 45):
        async with transaction(sessionmaker) as session:
            await queue_daily_reminders(session, datetime(2026, 4, 1, 18, minute, tzinfo=UTC))
    reminders = [d for d in await deliveries(sessionmaker) if d.kind.value == "daily_prompt"]
    assert [(d.user_id, d.key) for d in reminders] == [(bo.id, "daily_prompt:2026-04-01")]
    await send_due(sessionmaker, senders, datetime(2026, 4, 1, 18, 46, tzinfo=UTC))
    bodies = [s.message.body for s in sent(senders)]
    assert "Today's prompt is ready." in bodies
    assert_neutral(sent(senders))


async def test_reminders_are_dropped_in_quiet_hours_and_past_the_weekly_cap(
    client: httpx.AsyncClient,
    sessionmaker: Sessions,
    people: tuple[Person, Person, Person],
) -> None:
    ann, bo, _cy = people
    quiet = {"daily_prompt_time": "23:00", "quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}
    assert (await client.patch(SETTINGS, json=quiet, headers=h(ann))).status_code == 200
    assert (
        await client.patch(SETTINGS, json={"weekly_nudge_cap": 2}, headers=h(bo))
    ).status_code == 200
    moment = datetime(2026, 4, 1, 19, 0, tzinfo=UTC)
    for day in range(4):
        async with transaction(sessionmaker) as session:
            await queue_daily_reminders(session, moment + timedelta(days=day))
        async with transaction(sessionmaker) as session:
            await queue_daily_reminders(session, moment + timedelta(days=day, hours=4))
    mine = await deliveries(sessionmaker)
    assert all(d.user_id == bo.id for d in mine)  # Ann's reminder falls in her quiet hours
    assert [d.key for d in mine] == ["daily_prompt:2026-04-01", "daily_prompt:2026-04-02"]


async def test_notification_settings_over_http(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user(timezone="Europe/Zurich")
    shown = await client.get(SETTINGS, headers=h(ann))
    assert shown.status_code == 200
    assert shown.json() == {
        "types": {
            "daily_prompt": True,
            "partner_answered": True,
            "answers_revealed": True,
            "checkin_shared": True,
            "repair_step_due": True,
            "conversation_turn": True,
            "weekly_ritual": True,
        },
        "daily_prompt_time": "19:00",
        "quiet_hours_start": "22:00",
        "quiet_hours_end": "08:00",
        "weekly_nudge_cap": 7,
        "timezone": "Europe/Zurich",
    }
    stale = await client.patch(
        SETTINGS, json={"weekly_nudge_cap": 3}, headers={**h(ann), "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    off = await client.patch(
        SETTINGS, json={"quiet_hours_start": None, "quiet_hours_end": None}, headers=h(ann)
    )
    assert off.status_code == 200 and off.json()["quiet_hours_start"] is None
    for bad in (
        {"quiet_hours_start": "21:00"},
        {"weekly_nudge_cap": -1},
        {"weekly_nudge_cap": None},
        {"types": {"journal": True}},
        {"daily_prompt_time": "25:00"},
        {"daily_prompt_time": "19:00:30"},
        {"weekly_nudge_cap": True},
        {"types": {"daily_prompt": "yes"}},
        {"sound": "loud"},
    ):
        response = await client.patch(SETTINGS, json=bad, headers=h(ann))
        assert response.status_code == 422, (bad, response.text)
    assert (await client.get(SETTINGS)).status_code == 401


async def test_third_party_apps_cannot_read_or_change_settings(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: Sessions
) -> None:
    async with transaction(sessionmaker) as session:
        registered = await register_client(
            session,
            name="Elsewhere",
            redirect_uris=["https://elsewhere.example/cb"],
            scopes=["profile"],
            confidential=True,
        )
    ann = await make_user()
    other = h(ann, client_id=registered.client.client_id)
    assert (await client.get(SETTINGS, headers=other)).status_code == 403
    patched = await client.patch(SETTINGS, json={"weekly_nudge_cap": 1}, headers=other)
    assert patched.status_code == 403
    assert patched.json()["type"] == "/problems/first-party-only"
    assert time(19) == time.fromisoformat(
        (await client.get(SETTINGS, headers=h(ann))).json()["daily_prompt_time"]
    )


@pytest.mark.slow  # a night of scheduler runs
async def test_a_restart_on_the_fall_back_night_sends_the_reminder_once(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: Sessions, senders: Senders
) -> None:
    """Berlin, 25 October 2026: 02:30 happens twice. The job runs every minute through the
    night, and a second worker repeats every tick (a restart, a rerun): one reminder."""
    ann = await make_user(timezone="Europe/Berlin")
    bo = await make_user(timezone="Europe/Berlin")
    async with transaction(sessionmaker) as session:
        key = ann.app.state.settings.secret_key
        _, _, code = await create_couple(session, ann.member(), secret_key=key)
        await join_couple(session, bo.member(), code, secret_key=key)
    await register(client, bo)
    await register(client, bo, provider="fcm")
    night = {"daily_prompt_time": "02:30", "quiet_hours_start": None, "quiet_hours_end": None}
    assert (await client.patch(SETTINGS, json=night, headers=h(bo))).status_code == 200
    tick = datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # 02:15 CEST; 02:30 comes at 00:30 and 01:30
    while tick < datetime(2026, 10, 25, 1, 50, tzinfo=UTC):
        for _worker in range(2):
            async with transaction(sessionmaker) as session:
                await queue_daily_reminders(session, tick)
            await send_due(sessionmaker, senders, tick)
        tick += timedelta(minutes=1)
    reminders = await deliveries(sessionmaker, bo.id)
    assert [d.key for d in reminders] == ["daily_prompt:2026-10-25"] * 2  # one per device
    assert {d.created_at for d in reminders} == {datetime(2026, 10, 25, 0, 30, tzinfo=UTC)}
    assert len(sent(senders)) == 2


async def test_the_jobs_decide_and_send_through_the_configured_senders(
    sessionmaker: Sessions, test_settings: Settings, people: tuple[Person, Person, Person]
) -> None:
    ann, bo, _cy = people
    await answer(sessionmaker, ann)
    context = JobContext(sessionmaker, test_settings, clock=lambda: NOW)
    logged = senders_for(test_settings)
    assert isinstance(logged.apns, LogSender)  # nothing configured: nothing leaves
    before = len(logged.apns.sent)
    assert await push.push_notifications(context) >= 1
    assert len(logged.apns.sent) == before + 1
    assert await push.push_notifications(context) == 0  # a rerun: nothing twice
    evening = JobContext(sessionmaker, test_settings, clock=lambda: NOW.replace(hour=19))
    assert await push.daily_reminders(evening) == 2  # Bo's reminder, decided then sent
    assert len(logged.apns.sent) == before + 2
    old = JobContext(sessionmaker, test_settings, clock=lambda: NOW + timedelta(days=31))
    assert await push.sweep_push_deliveries(old) == 2
    assert await deliveries(sessionmaker, bo.id) == []


async def test_news_no_worker_sent_for_half_a_day_is_dropped(
    sessionmaker: Sessions, senders: Senders, people: tuple[Person, Person, Person]
) -> None:
    ann, bo, _cy = people
    await answer(sessionmaker, ann)
    async with transaction(sessionmaker) as session:
        await push_events(session, NOW, 100)
    assert await send_due(sessionmaker, senders, NOW + timedelta(hours=13)) == 0
    (delivery,) = await deliveries(sessionmaker, bo.id)
    assert delivery.state is DeliveryState.failed and delivery.last_error == "stale"
    assert sent(senders) == []


async def test_two_workers_at_once_send_each_push_once(
    sessionmaker: Sessions,
    senders: Senders,
    people: tuple[Person, Person, Person],
    is_postgres: bool,
) -> None:
    if not is_postgres:
        pytest.skip("concurrent writers need PostgreSQL (set RAPPORT_TEST_DATABASE_URL)")
    ann, bo, _cy = people
    await answer(sessionmaker, ann)

    async def worker() -> int:
        async with transaction(sessionmaker) as session:
            await push_events(session, NOW, 100)
        return await send_due(sessionmaker, senders, NOW)

    assert sum(await asyncio.gather(worker(), worker(), worker())) == 1
    assert len(sent(senders)) == 1
    assert [d.user_id for d in await deliveries(sessionmaker)] == [bo.id]
