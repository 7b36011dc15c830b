"""The weekly ritual over HTTP: two partners schedule it, hold a whole one under the couple's
test clock (appreciations hidden until both wrote, what went well, the issue as a linked
speaker-listener conversation, commitments), and mark their own commitments during the
week; bad input and steps out of order are problems that change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.models import Event
from tests.conftest import MakeUser, Person
from tests.conversations_support import moved
from tests.factories import pair
from tests.rituals_support import (
    RITUALS,
    SCHEDULE,
    advance,
    commit,
    couple_clock,
    finish,
    h,
    issue,
    mark,
    ok,
    problem,
    schedule,
    start_ritual,
    write,
    written_and_finished,
)

pytestmark = pytest.mark.usefixtures("first_party_client")

SATURDAY = datetime(2027, 3, 27, 12, tzinfo=UTC)  # Berlin on CET, UTC+1
SUNDAY_EVENING = datetime(2027, 3, 28, 17, 5, tzinfo=UTC)  # 19:05 CEST: summer time began
WEDNESDAY = datetime(2027, 3, 31, 9, tzinfo=UTC)
NEXT_SUNDAY = datetime(2027, 4, 4, 17, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_attachments(app: FastAPI) -> Iterator[None]:
    yield
    app.state.test_clocks_in_use = False  # the tables are emptied after each test


async def _couple(client: httpx.AsyncClient, make_user: MakeUser) -> tuple[Person, Person, str]:
    ann = await make_user(display_name="Ann", timezone="Europe/Berlin")
    bo = await make_user(display_name="Bo")
    await pair(client, ann, bo)
    couple_id = (await client.get("/v1/couples/me", headers=ann.headers("couple:read"))).json()
    return ann, bo, str(couple_id["id"])


def _texts(ritual: dict[str, Any]) -> list[str]:
    return [entry["text"] for entry in ritual["entries"]]


async def test_two_partners_hold_a_whole_weekly_ritual(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, couple_id = await _couple(client, make_user)
    clock = await couple_clock(client, ann, couple_id, SATURDAY)

    set_up = ok(await schedule(client, ann, "sunday", "19:00"), 201)
    assert set_up["timezone"] == "Europe/Berlin" and set_up["set_by"] == str(ann.id)
    assert set_up["next_due_at"] == "2027-03-28T17:00:00Z"  # 19:00 CEST, after the change
    assert set_up["current_week_of"] == "2027-03-21"
    again = ok(await schedule(client, bo, "sunday", "19:00"))  # either partner: 200 now
    assert again["set_by"] == str(bo.id)

    await advance(client, ann, clock, SUNDAY_EVENING)
    assert ok(await client.get(SCHEDULE, headers=h(ann)))["next_due_at"] == "2027-04-04T17:00:00Z"
    ritual = await start_ritual(client, ann)
    rid = ritual["id"]
    assert ritual["week_of"] == "2027-03-28" and ritual["status"] == "open"
    assert ritual["my_step"] == "appreciations"
    twice = problem(await client.post(RITUALS, headers=h(bo)), 409, "ritual-already-started")
    assert twice["ritual_id"] == rid

    # Steps in order: Bo cannot jump ahead.
    ahead = problem(
        await write(client, bo, rid, "went_well", "too soon"), 409, "ritual-step-out-of-order"
    )
    assert ahead["current_step"] == "appreciations"
    problem(await finish(client, bo, rid, "appreciations"), 409, "ritual-step-needs-words")

    # Appreciations stay hidden from the partner until both finished writing them.
    ok(await write(client, ann, rid, "appreciations", "ANN thanks Bo for the soup"))
    ok(await write(client, ann, rid, "appreciations", "ANN loved the walk"))
    ann_done = ok(await finish(client, ann, rid, "appreciations"))
    assert ann_done["my_step"] == "went_well"
    seen_by_bo = ok(await client.get(f"{RITUALS}/{rid}", headers=h(bo)))
    assert _texts(seen_by_bo) == []
    [ann_progress] = [p for p in seen_by_bo["partners"] if p["user_id"] == str(ann.id)]
    assert ann_progress["written"]["appreciations"] == 2
    assert ann_progress["finished_steps"] == ["appreciations"]
    bo_done = await written_and_finished(client, bo, rid, "appreciations", "BO thanks Ann")
    assert sorted(_texts(bo_done)) == [
        "ANN loved the walk",
        "ANN thanks Bo for the soup",
        "BO thanks Ann",
    ]

    # What went well; then Ann reaches the issue first and starts a conversation on it.
    problem(await issue(client, ann, rid, topic="chores"), 409, "ritual-step-out-of-order")
    await written_and_finished(client, ann, rid, "went_well", "ANN: we cooked together")
    problem(await finish(client, ann, rid, "issue"), 409, "ritual-step-out-of-order")
    linked = ok(await issue(client, ann, rid, topic="Who does the chores", first_speaker="partner"))
    cid = linked["conversation_id"]
    assert cid and linked["issue_done"] and linked["my_step"] == "next_week"
    talk = ok(await client.get(f"/v1/couples/me/conversations/{cid}", headers=h(bo)))
    assert talk["topic"] == "Who does the chores" and talk["speaker_id"] == str(bo.id)
    await moved(client, bo, cid, "share", "I feel I do most of the dishes")
    await moved(client, ann, cid, "paraphrase", "You feel the dishes fall on you")
    await moved(client, bo, cid, "confirm")
    await moved(client, ann, cid, "end")

    # Bo's issue is done already: after what went well he is on next week's step.
    bo_well = await written_and_finished(client, bo, rid, "went_well", "BO: the hike")
    assert bo_well["my_step"] == "next_week"
    problem(await issue(client, bo, rid, skip=True), 409, "ritual-step-out-of-order")
    mine = ok(await commit(client, ann, rid, "ANN walks with Bo twice"), 201)
    assert mine["owner_id"] == str(ann.id) and mine["done"] is False
    his = ok(await commit(client, bo, rid, "BO plans Saturday"), 201)
    ok(await finish(client, ann, rid, "next_week"))
    before_bo = ok(await client.get(f"{RITUALS}/{rid}", headers=h(ann)))
    assert [c["text"] for c in before_bo["commitments"]] == ["ANN walks with Bo twice"]
    done = ok(await finish(client, bo, rid, "next_week"))
    assert done["status"] == "completed" and done["completed_at"] == "2027-03-28T17:05:00Z"
    assert done["my_step"] is None
    assert sorted(c["text"] for c in done["commitments"]) == [
        "ANN walks with Bo twice",
        "BO plans Saturday",
    ]
    problem(await write(client, ann, rid, "went_well", "late"), 409, "ritual-closed")

    # During the week: each marks their own commitment, never the partner's.
    await advance(client, ann, clock, WEDNESDAY)
    marked = ok(await mark(client, ann, mine["id"]))
    assert marked["done"] is True and marked["done_at"] == "2027-03-31T09:00:00Z"
    problem(await mark(client, bo, mine["id"], done=False), 403, "ritual-commitment-not-yours")
    problem(await mark(client, ann, his["id"]), 403, "ritual-commitment-not-yours")
    listed = ok(await client.get(RITUALS, headers=h(bo)))["data"]
    [bos_view] = [c for c in listed[0]["commitments"] if c["id"] == mine["id"]]
    assert bos_view["done"] is True  # Bo's refused undo changed nothing
    assert ok(await mark(client, ann, mine["id"], done=False))["done"] is False
    assert ok(await mark(client, ann, mine["id"]))["done"] is True

    # The next ritual starts a new week: last week's commitments are closed.
    await advance(client, ann, clock, NEXT_SUNDAY)
    following = await start_ritual(client, bo)
    assert following["week_of"] == "2027-04-04"
    problem(await mark(client, bo, his["id"]), 409, "ritual-commitment-week-over")
    listed = ok(await client.get(RITUALS, headers=h(ann)))["data"]
    assert [r["week_of"] for r in listed] == ["2027-04-04", "2027-03-28"]

    async with app.state.sessionmaker() as session:
        types = [
            e.type
            for e in await session.scalars(select(Event).order_by(Event.seq))
            if e.type.startswith(("ritual.", "commitment."))
        ]
    assert types == [
        "ritual.scheduled",
        "ritual.scheduled",
        "ritual.started",
        "ritual.step_finished",  # Ann: appreciations
        "ritual.step_finished",  # Bo: appreciations
        "ritual.step_finished",  # Ann: went well
        "ritual.step_finished",  # Ann: the issue, for both
        "ritual.step_finished",  # Bo: went well
        "commitment.added",
        "commitment.added",
        "ritual.step_finished",
        "ritual.step_finished",
        "ritual.completed",
        "commitment.done",
        "commitment.undone",
        "commitment.done",
        "ritual.started",
    ]


async def test_an_ended_ritual_reveals_what_was_written_and_takes_no_more(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, _ = await _couple(client, make_user)
    ok(await schedule(client, bo, "monday", "08:30"), 201)
    rid = (await start_ritual(client, ann))["id"]
    ok(await write(client, ann, rid, "appreciations", "ANN-ONLY"))
    assert _texts(ok(await client.get(f"{RITUALS}/{rid}", headers=h(bo)))) == []
    ended = ok(await client.post(f"{RITUALS}/{rid}/end", headers=h(bo)))
    assert ended["status"] == "ended" and ended["my_step"] is None
    assert _texts(ended) == ["ANN-ONLY"]
    problem(await client.post(f"{RITUALS}/{rid}/end", headers=h(ann)), 409, "ritual-closed")
    problem(await commit(client, ann, rid, "late"), 409, "ritual-closed")


async def test_the_issue_can_be_skipped_or_an_existing_conversation_attached(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, _ = await _couple(client, make_user)
    cy, dee = await make_user(), await make_user()
    await pair(client, cy, dee)
    theirs = ok(await client.post("/v1/couples/me/conversations", json={}, headers=h(cy)), 201)
    ours = ok(await client.post("/v1/couples/me/conversations", json={}, headers=h(bo)), 201)
    ok(await schedule(client, ann, "friday", "20:00"), 201)
    rid = (await start_ritual(client, ann))["id"]
    for person in (ann, bo):
        await written_and_finished(client, person, rid, "appreciations", "thanks")
        await written_and_finished(client, person, rid, "went_well", "fine")
    refused = await issue(client, ann, rid, conversation_id=theirs["id"])
    problem(refused, 404, "conversation-not-found")  # another couple's: not ours to attach
    both = await issue(client, ann, rid, skip=True, topic="x")
    assert both.status_code == 422
    attached = ok(await issue(client, bo, rid, conversation_id=ours["id"]))
    assert attached["conversation_id"] == ours["id"]
    assert all(p["current_step"] == "next_week" for p in attached["partners"])


async def test_bad_input_is_a_problem_and_changes_nothing(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, _ = await _couple(client, make_user)
    problem(await client.get(SCHEDULE, headers=h(ann)), 404, "ritual-schedule-not-found")
    problem(await client.post(RITUALS, headers=h(ann)), 404, "ritual-schedule-not-found")
    ok(await schedule(client, ann, "sunday", "19:00"), 201)
    for weekday, at in (("funday", "19:00"), ("sunday", "25:00"), ("sunday", "7pm"), (3, "19:00")):
        response = await client.put(
            SCHEDULE, json={"weekday": weekday, "local_time": at}, headers=h(bo)
        )
        assert response.status_code == 422, (weekday, at)
        assert response.headers["content-type"].startswith("application/problem+json")
    extra = await client.put(
        SCHEDULE, json={"weekday": "monday", "local_time": "09:00", "x": 1}, headers=h(bo)
    )
    assert extra.status_code == 422
    kept = ok(await client.get(SCHEDULE, headers=h(bo)))
    assert (kept["weekday"], kept["local_time"], kept["set_by"]) == ("sunday", "19:00", str(ann.id))

    rid = (await start_ritual(client, ann))["id"]
    for body in (
        {"step": "appreciations", "text": ""},
        {"step": "appreciations", "text": "x" * 501},
        {"step": "issue", "text": "not a written step"},
        {"step": "appreciations"},
        {"step": "appreciations", "text": "a\u0000b"},
    ):
        response = await client.post(f"{RITUALS}/{rid}/entries", json=body, headers=h(ann))
        assert response.status_code == 422, body
    bad_step = await client.post(f"{RITUALS}/{rid}/steps/dessert/finish", headers=h(ann))
    assert bad_step.status_code == 422
    problem(await commit(client, ann, rid, "not yet"), 409, "ritual-step-out-of-order")
    missing = "00000000-0000-4000-8000-000000000000"
    problem(await client.get(f"{RITUALS}/{missing}", headers=h(ann)), 404, "ritual-not-found")
    problem(await mark(client, ann, missing), 404, "ritual-commitment-not-found")
    unchanged = ok(await client.get(f"{RITUALS}/{rid}", headers=h(ann)))
    assert unchanged["entries"] == [] and unchanged["commitments"] == []
    assert all(p["finished_steps"] == [] for p in unchanged["partners"])

    deleted = await client.delete(SCHEDULE, headers=h(bo))
    assert deleted.status_code == 204
    problem(await client.delete(SCHEDULE, headers=h(bo)), 404, "ritual-schedule-not-found")
    # The ritual held stays readable.
    assert (await client.get(f"{RITUALS}/{rid}", headers=h(ann))).status_code == 200


async def test_partners_acting_at_once_start_one_ritual_and_complete_it_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, _ = await _couple(client, make_user)
    ok(await schedule(client, ann, "tuesday", "18:00"), 201)
    both = await asyncio.gather(
        client.post(RITUALS, headers=h(ann)), client.post(RITUALS, headers=h(bo))
    )
    assert sorted(r.status_code for r in both) == [201, 409]
    [rid] = [r.json()["id"] for r in both if r.status_code == 201]
    for person in (ann, bo):
        await written_and_finished(client, person, rid, "appreciations", "thanks")
        await written_and_finished(client, person, rid, "went_well", "fine")
    skips = await asyncio.gather(
        issue(client, ann, rid, skip=True), issue(client, bo, rid, topic="money")
    )
    assert sorted(r.status_code for r in skips) == [200, 409]  # the issue is chosen once
    finished = await asyncio.gather(
        finish(client, ann, rid, "next_week"), finish(client, bo, rid, "next_week")
    )
    assert [r.status_code for r in finished] == [200, 200]
    assert ok(await client.get(f"{RITUALS}/{rid}", headers=h(ann)))["status"] == "completed"
    async with app.state.sessionmaker() as session:
        completed = [
            e for e in await session.scalars(select(Event)) if e.type == "ritual.completed"
        ]
    assert len(completed) == 1
