"""The daily prompt and answer-then-reveal, through the HTTP API with real tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Answer, Event
from tests.conftest import Clock, MakeUser, Person
from tests.factories import DAILY_SCOPES as SCOPES
from tests.factories import answer, pair, publish_library

TODAY = "/v1/couples/me/prompts/today"


def h(person: Person, *scopes: str) -> dict[str, str]:
    return person.headers(*(scopes or SCOPES))


@pytest.fixture
async def couple(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> tuple[Person, Person]:
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    return ann, bo


async def test_answer_then_reveal(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    first = (await client.get(TODAY, headers=h(ann))).json()
    assert (await client.get(TODAY, headers=h(bo))).json()["prompt"] == first["prompt"]
    assert first["state"] == "open" and first["can_swap"] is True
    day = first["date"]

    secret = "the thing I never told anyone"
    mine = await answer(client, ann, day, secret)
    assert mine.status_code == 200, mine.text
    assert mine.json()["state"] == "waiting_for_partner"
    assert mine.json()["my_answer"]["text"] == secret

    # Bo learns that Ann answered, never what she wrote, from any endpoint he can call.
    for path in (TODAY, f"/v1/couples/me/prompts/{day}"):
        seen = await client.get(path, headers=h(bo))
        assert seen.json()["partner_answered"] is True
        assert seen.json()["partner_answer"] is None
        assert seen.json()["state"] == "waiting_for_you"
        assert secret not in seen.text
    ann_answer_id = mine.json()["my_answer"]["id"]
    early = await client.get(f"/v1/answers/{ann_answer_id}/reflections", headers=h(bo))
    assert early.status_code == 404
    assert secret not in early.text

    second = await answer(client, bo, day, "mine too")
    assert second.json()["state"] == "revealed"
    assert second.json()["partner_answer"]["text"] == secret
    for person in (ann, bo):
        both = (await client.get(TODAY, headers=h(person))).json()
        assert both["state"] == "revealed"
        assert {both["my_answer"]["text"], both["partner_answer"]["text"]} == {secret, "mine too"}

    sealed = await answer(client, ann, day, "edited")
    assert sealed.status_code == 409
    assert sealed.json()["type"] == "/problems/answers-sealed"

    types = list(await db.scalars(select(Event.type).order_by(Event.seq)))
    assert types.count("prompt.assigned") == 1
    assert types.count("answer.submitted") == 2
    assert types.count("answer.revealed") == 1
    for data in await db.scalars(select(Event.data)):
        assert secret not in str(data)


async def test_answers_can_be_rewritten_until_revealed(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, _ = couple
    day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    await answer(client, ann, day, "first draft")
    again = await answer(client, ann, day, "second draft")
    assert again.json()["my_answer"]["text"] == "second draft"
    assert len(list(await db.scalars(select(Answer)))) == 1


async def test_reflections_are_for_the_partner(
    client: httpx.AsyncClient, couple: tuple[Person, Person], make_user: MakeUser
) -> None:
    ann, bo = couple
    day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    await answer(client, ann, day, "I felt seen when you called")
    revealed = (await answer(client, bo, day, "me too")).json()
    ann_answer = revealed["partner_answer"]["id"]
    bo_answer = revealed["my_answer"]["id"]

    created = await client.post(
        f"/v1/answers/{ann_answer}/reflections",
        json={"kind": "reflect", "text": "It sounds like that call made you feel close."},
        headers=h(bo),
    )
    assert created.status_code == 201, created.text
    assert created.json()["author_id"] == str(bo.id)
    own = await client.post(
        f"/v1/answers/{bo_answer}/reflections",
        json={"kind": "appreciate", "text": "me"},
        headers=h(bo),
    )
    assert own.status_code == 403
    bad_kind = await client.post(
        f"/v1/answers/{ann_answer}/reflections",
        json={"kind": "fix", "text": "try harder"},
        headers=h(bo),
    )
    assert bad_kind.status_code == 422

    listed = await client.get(f"/v1/answers/{ann_answer}/reflections", headers=h(ann))
    assert [r["kind"] for r in listed.json()] == ["reflect"]
    day_view = (await client.get(TODAY, headers=h(ann))).json()
    assert day_view["my_answer"]["reflections"][0]["text"].startswith("It sounds like")

    stranger = await make_user()
    for method, body in (("GET", None), ("POST", {"kind": "ask", "text": "why?"})):
        response = await client.request(
            method, f"/v1/answers/{ann_answer}/reflections", json=body, headers=h(stranger)
        )
        assert response.status_code == 404


async def test_another_couple_sees_nothing(
    client: httpx.AsyncClient, couple: tuple[Person, Person], make_user: MakeUser
) -> None:
    ann, _ = couple
    day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    await answer(client, ann, day, "private to us")
    cy, di = await make_user(), await make_user()
    for person in (cy,):
        for path in (TODAY, f"/v1/couples/me/prompts/{day}"):
            response = await client.get(path, headers=h(person))
            assert response.status_code == 404
            assert response.json()["type"] == "/problems/no-couple"
    await pair(client, cy, di)
    theirs = await client.get(f"/v1/couples/me/prompts/{day}", headers=h(cy))
    assert theirs.status_code == 404
    assert "private to us" not in theirs.text
    assert (await answer(client, cy, day, "x")).status_code == 404


async def test_scopes_guard_prompts_and_answers(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, _ = couple
    assert (await client.get(TODAY, headers=h(ann, "couple:read"))).status_code == 403
    without_answers = await client.get(TODAY, headers=h(ann, "prompts:read"))
    assert without_answers.status_code == 200
    day = without_answers.json()["date"]
    assert (
        await client.put(
            f"/v1/couples/me/prompts/{day}/answer",
            json={"text": "x"},
            headers=h(ann, "prompts:read"),
        )
    ).status_code == 403
    await answer(client, ann, day, "hidden without answers:read")
    narrow = await client.get(TODAY, headers=h(ann, "prompts:read"))
    assert narrow.json()["my_answer"] is None
    assert "hidden without" not in narrow.text


@pytest.mark.parametrize(
    ("timezone", "before", "after", "day_before", "day_after"),
    [
        (
            "Pacific/Kiritimati",
            "2026-03-01T09:59:59+00:00",
            "2026-03-01T10:00:00+00:00",
            "2026-03-01",
            "2026-03-02",
        ),
        (
            "Pacific/Pago_Pago",
            "2026-03-01T10:59:59+00:00",
            "2026-03-01T11:00:00+00:00",
            "2026-02-28",
            "2026-03-01",
        ),
    ],
)
async def test_the_couples_time_zone_decides_when_today_starts(
    client: httpx.AsyncClient,
    couple: tuple[Person, Person],
    clock: Clock,
    timezone: str,
    before: str,
    after: str,
    day_before: str,
    day_after: str,
) -> None:
    ann, bo = couple
    etag = (await client.get("/v1/couples/me", headers=h(ann))).headers["etag"]
    changed = await client.patch(
        "/v1/couples/me", json={"timezone": timezone}, headers={**h(ann), "If-Match": etag}
    )
    assert changed.status_code == 200
    clock.set(datetime.fromisoformat(before))
    assert (await client.get(TODAY, headers=h(ann))).json()["date"] == day_before
    clock.set(datetime.fromisoformat(after))
    late = await client.get(TODAY, headers=h(bo))
    assert late.json()["date"] == day_after
    # Both days now exist, around the UTC date: today is the couple's local one, and an
    # answer to the day before (open for a grace day) stays on that day.
    assert (await answer(client, ann, day_before, "yesterday's")).status_code == 200
    again = (await client.get(TODAY, headers=h(ann))).json()
    assert again["date"] == day_after and again["prompt"] == late.json()["prompt"]
    assert again["my_answer"] is None and again["state"] == "open"


async def test_only_open_days_take_answers(
    client: httpx.AsyncClient, couple: tuple[Person, Person], clock: Clock
) -> None:
    ann, bo = couple
    clock.set(datetime(2026, 5, 1, 12, tzinfo=UTC))
    first_day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    assert (await answer(client, ann, "2026-05-02", "future")).status_code == 404
    clock.advance(timedelta(days=1))
    # The next local day is a grace day for the previous prompt.
    assert (await answer(client, bo, first_day, "late but fine")).status_code == 200
    clock.advance(timedelta(days=1))
    closed = await answer(client, ann, first_day, "too late")
    assert closed.status_code == 409
    assert closed.json()["type"] == "/problems/day-closed"
    assert (await client.get(f"/v1/couples/me/prompts/{first_day}", headers=h(ann))).json()[
        "state"
    ] == "closed"
    bad_date = await client.put(
        "/v1/couples/me/prompts/not-a-date/answer", json={"text": "x"}, headers=h(ann)
    )
    assert bad_date.status_code == 422


async def test_one_swap_a_day_before_anyone_answers(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, bo = couple
    before = (await client.get(TODAY, headers=h(ann))).json()
    swapped = await client.post(f"{TODAY}/swap", headers=h(bo))
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["prompt"]["prompt_id"] != before["prompt"]["prompt_id"]
    assert swapped.json()["swapped"] is True and swapped.json()["can_swap"] is False
    assert (await client.get(TODAY, headers=h(ann))).json()["prompt"] == swapped.json()["prompt"]
    again = await client.post(f"{TODAY}/swap", headers=h(ann))
    assert again.status_code == 409


async def test_no_swap_after_an_answer(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, bo = couple
    day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    await answer(client, ann, day, "answered")
    refused = await client.post(f"{TODAY}/swap", headers=h(bo))
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/swap-unavailable"


async def test_leaving_closes_answers(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, bo = couple
    day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    assert (await client.post("/v1/couples/me/leave", headers=h(bo))).status_code == 204
    after = await answer(client, ann, day, "anyone there?")
    assert after.status_code == 404
    assert after.json()["type"] == "/problems/no-couple"


async def test_no_published_prompt_is_a_clear_problem(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    response = await client.get(TODAY, headers=h(ann))
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/no-prompt-available"


async def test_opt_in_libraries_feed_only_couples_that_enable_them(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    await publish_library(app.state.sessionmaker, slug="after-a-rupture", opt_in=True)
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    assert (await client.get(TODAY, headers=h(ann))).status_code == 404
    etag = (await client.get("/v1/couples/me", headers=h(ann))).headers["etag"]
    await client.patch(
        "/v1/couples/me",
        json={"enabled_libraries": ["after-a-rupture"]},
        headers={**h(ann), "If-Match": etag},
    )
    assert (await client.get(TODAY, headers=h(ann))).status_code == 200


async def test_reading_today_costs_a_bounded_number_of_queries(
    client: httpx.AsyncClient, couple: tuple[Person, Person], count_queries: object
) -> None:
    ann, bo = couple
    day = (await client.get(TODAY, headers=h(ann))).json()["date"]
    await answer(client, ann, day, "one")
    revealed = (await answer(client, bo, day, "two")).json()
    for text in ("I hear you", "and I am curious"):
        reflected = await client.post(
            f"/v1/answers/{revealed['partner_answer']['id']}/reflections",
            json={"kind": "reflect", "text": text},
            headers=h(bo),
        )
        assert reflected.status_code == 201
    headers = h(ann)
    with count_queries() as counter:  # type: ignore[operator]
        seen = await client.get(TODAY, headers=headers)
    assert seen.status_code == 200
    mine = seen.json()["my_answer"]
    assert [r["text"] for r in mine["reflections"]] == ["I hear you", "and I am curious"]
    assert seen.json()["partner_answer"]["reflections"] == []
    # The couple with the day, its prompt, answers and reflections.
    assert counter.count == 1, counter.statements


@pytest.mark.slow
async def test_a_month_of_days_follows_the_rules_end_to_end(
    client: httpx.AsyncClient, couple: tuple[Person, Person], clock: Clock, app: FastAPI
) -> None:
    ann, bo = couple
    await publish_library(app.state.sessionmaker, per_cell=3)  # 60 prompts, 12 of them play
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    seen: list[dict[str, Any]] = []
    for offset in range(30):
        clock.set(start + timedelta(days=offset))
        day = (await client.get(TODAY, headers=h(ann))).json()
        seen.append(day["prompt"])
        await answer(client, ann, day["date"], f"a{offset}")
        await answer(client, bo, day["date"], f"b{offset}")
    depths = [p["depth"] for p in seen]
    categories = [p["category"] for p in seen]
    assert max(depths[:2]) == 1  # light prompts first
    assert 3 not in depths[:7]  # depth 3 only after 7 revealed days
    assert all("play" in categories[i : i + 3] for i in range(len(categories) - 2))
    assert not any(depths[i] == depths[i + 1] == depths[i + 2] == 3 for i in range(len(depths) - 2))
    # The pool is larger than a month: nothing repeats, but for a play prompt that the
    # play rule needed once every play prompt the depth allowed had been used.
    others = [p["prompt_id"] for p in seen if p["category"] != "play"]
    assert len(set(others)) == len(others)


async def test_days_list_and_my_answers_survive_the_end_of_the_couple(
    client: httpx.AsyncClient, couple: tuple[Person, Person], clock: Clock, count_queries: object
) -> None:
    ann, bo = couple
    start = datetime(2026, 2, 1, 12, tzinfo=UTC)
    for offset in range(3):
        clock.set(start + timedelta(days=offset))
        day = (await client.get(TODAY, headers=h(ann))).json()["date"]
        await answer(client, ann, day, f"ann day {offset}")
        if offset < 2:
            await answer(client, bo, day, f"bo day {offset}")

    listed = await client.get("/v1/couples/me/prompts?limit=2", headers=h(bo))
    assert listed.status_code == 200
    page = listed.json()
    assert [d["date"] for d in page["data"]] == ["2026-02-03", "2026-02-02"]
    assert page["data"][0]["state"] == "waiting_for_you"
    assert "ann day 2" not in listed.text
    assert page["data"][1]["state"] == "revealed"
    with count_queries() as counter:  # type: ignore[operator]
        rest = await client.get(
            f"/v1/couples/me/prompts?limit=2&cursor={page['next_cursor']}",
            headers={**h(bo), "Accept-Language": "en"},
        )
    assert [d["date"] for d in rest.json()["data"]] == ["2026-02-01"]
    assert rest.json()["has_more"] is False
    # Without Accept-Language, one more: the reader's own locale.
    assert counter.count <= 5, counter.statements

    assert (await client.post("/v1/couples/me/leave", headers=h(ann))).status_code == 204
    mine = await client.get("/v1/me/answers", headers=h(bo))
    assert mine.status_code == 200
    texts = [
        (a["answer"]["text"], (a["partner_answer"] or {}).get("text")) for a in mine.json()["data"]
    ]
    assert texts == [("bo day 1", "ann day 1"), ("bo day 0", "ann day 0")]
    theirs = await client.get("/v1/me/answers", headers=h(ann))
    newest = theirs.json()["data"][0]
    assert newest["partner_answer"] is None  # day 2 was never revealed
    assert "bo day" not in str(theirs.json()["data"][0])
