"""Trust ratings over a constructed history (the clock fixture): the series, weekly medians
in the couple's time zone, private notes, and `trust_trend`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.services.repair_trust import trust_trend
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair
from tests.repair_support import PLANS, active_plan, h, moved

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def rate(
    client: httpx.AsyncClient, person: Person, plan_id: str, score: int, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{PLANS}/{plan_id}/trust-ratings", json={"score": score, **body}, headers=h(person)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def series(client: httpx.AsyncClient, person: Person, plan_id: str) -> dict[str, Any]:
    response = await client.get(f"{PLANS}/{plan_id}/trust-ratings", headers=h(person))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_the_series_and_weekly_medians_per_partner(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    pid = (await active_plan(client, ann, bo, hurt_user_id=str(ann.id)))["id"]
    history = {
        # days after MONDAY: [(who, score)]
        0: [(ann, 4), (bo, 5)],
        2: [(ann, 6)],
        4: [(ann, 8), (bo, 7)],
        6: [(bo, 9)],  # Sunday: still the first week
        7: [(ann, 7)],  # Monday: the second week
    }
    for days, ratings in history.items():
        clock.set(MONDAY + timedelta(days=days))
        for person, score in ratings:
            await rate(client, person, pid, score)

    seen = await series(client, ann, pid)
    assert seen["timezone"] == "UTC"
    mine, theirs = seen["partners"]
    assert mine["user_id"] == str(ann.id) and theirs["user_id"] == str(bo.id)
    assert [r["score"] for r in mine["ratings"]] == [4, 6, 8, 7]
    assert [r["local_date"] for r in mine["ratings"]][-1] == "2026-01-12"
    assert mine["weekly_medians"] == [
        {"week_start": "2026-01-05", "median": 6.0, "count": 3},
        {"week_start": "2026-01-12", "median": 7.0, "count": 1},
    ]
    assert theirs["weekly_medians"] == [{"week_start": "2026-01-05", "median": 7.0, "count": 3}]
    # Bo sees the same series, himself first.
    assert [p["user_id"] for p in (await series(client, bo, pid))["partners"]] == [
        str(bo.id),
        str(ann.id),
    ]


async def test_weeks_are_counted_in_the_couples_time_zone(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann = await make_user(timezone="Pacific/Auckland")
    bo = await make_user()
    await pair(client, ann, bo)
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    clock.set(datetime(2026, 1, 11, 9, 0, tzinfo=UTC))  # Sunday in UTC, 22:00 in Auckland
    await rate(client, ann, pid, 3)
    clock.set(datetime(2026, 1, 11, 12, 0, tzinfo=UTC))  # already Monday in Auckland
    rating = await rate(client, ann, pid, 9)
    assert rating["local_date"] == "2026-01-12"
    weekly = (await series(client, bo, pid))["partners"][1]["weekly_medians"]
    assert [(w["week_start"], w["median"]) for w in weekly] == [
        ("2026-01-05", 3.0),
        ("2026-01-12", 9.0),
    ]


async def test_a_note_stays_private_unless_shared(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    pid = (await active_plan(client, ann, bo, hurt_user_id=str(ann.id)))["id"]
    private = await rate(client, ann, pid, 2, note="I still check his phone in my head")
    shared = await rate(client, ann, pid, 4, note="Sunday felt good", share_note=True)
    assert shared["note_shared"] is True
    assert private["note"] == "I still check his phone in my head"
    assert private["note_shared"] is False

    response = await client.get(f"{PLANS}/{pid}/trust-ratings", headers=h(bo))
    assert "check his phone" not in response.text
    ratings = response.json()["partners"][1]["ratings"]
    assert [(r["score"], r["note"]) for r in ratings] == [(2, None), (4, "Sunday felt good")]
    assert [r["note"] for r in (await series(client, ann, pid))["partners"][0]["ratings"]] == [
        "I still check his phone in my head",
        "Sunday felt good",
    ]

    url = f"{PLANS}/{pid}/trust-ratings/{private['id']}"
    not_his = await client.patch(url, json={"share_note": True}, headers=h(bo))
    assert not_his.status_code == 404
    opened = await client.patch(url, json={"share_note": True}, headers=h(ann))
    assert opened.status_code == 200 and opened.json()["note_shared"] is True
    again = (await series(client, bo, pid))["partners"][1]["ratings"]
    assert again[0]["note"] == "I still check his phone in my head"
    await client.patch(url, json={"share_note": False}, headers=h(ann))
    assert (await series(client, bo, pid))["partners"][1]["ratings"][0]["note"] is None


async def test_ratings_are_recorded_while_the_plan_is_under_way(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    plan = await active_plan(client, ann, bo, mutual=True)
    pid = plan["id"]
    await moved(client, bo, pid, "pause")
    await rate(client, bo, pid, 5)  # a pause is still part of the repair
    await moved(client, ann, pid, "abandon")
    ended = await client.post(f"{PLANS}/{pid}/trust-ratings", json={"score": 5}, headers=h(ann))
    assert ended.status_code == 409
    for score in (-1, 11):
        bad = await client.post(
            f"{PLANS}/{pid}/trust-ratings", json={"score": score}, headers=h(ann)
        )
        assert bad.status_code == 422


async def weekly_history(
    client: httpx.AsyncClient,
    clock: Clock,
    plan_id: str,
    start: datetime,
    scores: list[tuple[Person, list[int | None]]],
) -> None:
    """One rating a week per partner (None: no rating that week), from `start`."""
    for week in range(max(len(values) for _, values in scores)):
        clock.set(start + timedelta(weeks=week))
        for person, values in scores:
            score = values[week] if week < len(values) else None
            if score is not None:
                await rate(client, person, plan_id, score)


async def test_trust_trend_says_falling_rising_flat_or_insufficient(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock, app: FastAPI
) -> None:
    ann, bo, cy, di = [await make_user() for _ in range(4)]
    first = await pair(client, ann, bo)
    second = await pair(client, cy, di)
    one = (await active_plan(client, ann, bo, hurt_user_id=str(ann.id)))["id"]
    two = (await active_plan(client, cy, di, mutual=True))["id"]

    old = MONDAY - timedelta(weeks=2)
    clock.set(old)
    await rate(client, ann, one, 0)  # before the 6-week window: left out
    await weekly_history(
        client,
        clock,
        one,
        MONDAY,
        [(ann, [8, 8, 7, 6, 5, 5]), (bo, [3, None, 4, 5, 6, 7])],
    )
    await weekly_history(
        client, clock, two, MONDAY, [(cy, [5, 6, 5, 5, 6, 5]), (di, [None, None, None, None, 2, 9])]
    )
    now = MONDAY + timedelta(weeks=5, days=3)
    async with app.state.sessionmaker() as session:
        trend = await trust_trend(session, uuid.UUID(str(first["id"])), now)
        other = await trust_trend(session, uuid.UUID(str(second["id"])), now)
    assert trend["window_start"] == date(2026, 1, 5)
    assert trend["window_end"] == date(2026, 2, 15)
    falling, rising = trend["partners"][ann.id], trend["partners"][bo.id]
    assert falling["trend"] == "falling" and falling["flat_or_falling"] is True
    assert falling["change"] is not None and falling["change"] <= -1.0
    assert falling["weekly_medians"][0] == (date(2026, 1, 5), 8.0)
    assert rising["trend"] == "rising" and rising["flat_or_falling"] is False
    assert len(rising["weekly_medians"]) == 5  # the week without a rating is skipped
    flat, sparse = other["partners"][cy.id], other["partners"][di.id]
    assert flat["trend"] == "flat" and flat["flat_or_falling"] is True
    assert sparse == {
        "trend": "insufficient",
        "flat_or_falling": False,
        "change": None,
        "weekly_medians": [(date(2026, 2, 2), 2.0), (date(2026, 2, 9), 9.0)],
    }


async def test_insights_suggest_support_when_trust_does_not_rise(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    plan = (await active_plan(client, ann, bo, hurt_user_id=str(ann.id)))["id"]
    insights = "/v1/couples/me/insights"
    await weekly_history(client, clock, plan, MONDAY, [(ann, [3, 4, 5]), (bo, [4, 5, 6])])
    clock.set(MONDAY + timedelta(weeks=2, days=3))
    rising = await client.get(insights, headers=ann.headers("insights:read"))
    assert rising.json()["suggest_professional_support"]["suggested"] is False

    await weekly_history(
        client, clock, plan, MONDAY + timedelta(weeks=3), [(ann, [3, 2, 2]), (bo, [6, 6, 6])]
    )
    clock.set(MONDAY + timedelta(weeks=5, days=3))
    stuck = await client.get(insights, headers=bo.headers("insights:read"))
    support = stuck.json()["suggest_professional_support"]
    assert [reason["code"] for reason in support["reasons"]] == ["trust_not_rising"]


async def test_the_trust_ratings_read_shows_each_partners_trend(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    pid = (await active_plan(client, ann, bo, hurt_user_id=str(ann.id)))["id"]
    clock.set(MONDAY - timedelta(weeks=2))
    await rate(client, ann, pid, 10)  # before the window: in the series, not in the trend
    await weekly_history(
        client, clock, pid, MONDAY, [(ann, [8, 8, 7, 6, 5, 5]), (bo, [None, None, None, 4, 9])]
    )
    clock.set(MONDAY + timedelta(weeks=5, days=3))

    mine, theirs = (await series(client, ann, pid))["partners"]
    assert len(mine["ratings"]) == 7
    assert mine["trend"]["direction"] == "falling"
    assert mine["trend"]["change"] <= -1.0
    assert mine["trend"]["weeks_with_ratings"] == 6
    assert (mine["trend"]["window_start"], mine["trend"]["window_end"]) == (
        "2026-01-05",
        "2026-02-15",
    )
    assert theirs["trend"] == {
        "direction": "insufficient",
        "change": None,
        "weeks_with_ratings": 2,
        "window_start": "2026-01-05",
        "window_end": "2026-02-15",
    }
    # Bo reads the same trends, himself first.
    seen_by_bo = (await series(client, bo, pid))["partners"]
    assert [p["trend"] for p in seen_by_bo] == [theirs["trend"], mine["trend"]]

    await rate(client, bo, pid, 9)  # a third week: now there is something to say
    assert (await series(client, ann, pid))["partners"][1]["trend"]["direction"] == "rising"

    # Once the plan ends, its window stays on the week it ended in.
    await moved(client, ann, pid, "abandon")
    clock.set(MONDAY + timedelta(weeks=20))
    ended = (await series(client, ann, pid))["partners"][0]["trend"]
    assert ended["window_end"] == "2026-02-15" and ended["direction"] == "falling"


async def test_no_one_outside_the_couple_sees_the_trend(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    await pair(client, ann, bo)
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    await weekly_history(client, clock, pid, MONDAY, [(ann, [3, 5, 7]), (bo, [7, 5, 3])])
    url = f"{PLANS}/{pid}/trust-ratings"

    outsider = await client.get(url, headers=h(cy))
    assert outsider.status_code == 404 and "trend" not in outsider.text
    await pair(client, cy, await make_user())  # in a couple of their own: still not theirs
    other_couple = await client.get(url, headers=h(cy))
    assert other_couple.status_code == 404 and "trend" not in other_couple.text

    left = await client.post("/v1/couples/me/leave", headers=bo.headers("couple:write"))
    assert left.status_code == 204
    for ex in (ann, bo):  # the couple ended: neither ex-partner reads it any more
        gone = await client.get(url, headers=h(ex))
        assert gone.status_code == 404 and "trend" not in gone.text
    await pair(client, bo, await make_user())  # with someone new
    gone = await client.get(url, headers=h(bo))
    assert gone.status_code == 404 and "trend" not in gone.text
