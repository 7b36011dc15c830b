"""GET today's hot path answers the same bytes and headers as the rules' entity path.

`daily_today.today_as_seen_by` reads columns, opens only the texts it shows and builds the
response without validation; the reference is what `GET /v1/couples/me/prompts/{date}` and
`answers.day_as_seen_by` make of the same day from ORM entities.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core import crypto, sealed_today
from app.core.encryption_orm import destroy_data_key
from app.core.languages import Preferences
from app.schemas.daily import DayOut
from app.services import answers, daily
from app.services.couples import require_couple
from tests.conftest import Clock, MakeUser, Person
from tests.factories import DAILY_SCOPES, answer, pair, publish_library

TODAY = "/v1/couples/me/prompts/today"
HOT = "app.services.daily_today"
# Headers that differ between any two responses, whatever they carry.
_PER_RESPONSE = {"x-request-id", "date", "server-timing", "ratelimit", "ratelimit-policy"}


@pytest.fixture
async def couple(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> tuple[Person, Person]:
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    return ann, bo


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in _PER_RESPONSE}


async def _entity_bytes(app: FastAPI, person: Person, scopes: tuple[str, ...], day: str) -> bytes:
    """The previous serialization of the day: entities, `day_as_seen_by`, `DayOut.of`."""
    member = person.member(*scopes)
    async with app.state.reading_sessionmaker() as session:
        couple = await require_couple(session, person.user.id)
        found = await daily.get_day(session, couple, datetime.fromisoformat(day).date())
        wanted = Preferences.of(None, person.user.locale)
        view = await answers.day_as_seen_by(
            session, member, couple, found, app.state.clock(), wanted
        )
    return DayOut.of(view).model_dump_json().encode()


async def _same_as_entities(
    client: httpx.AsyncClient, app: FastAPI, person: Person, *scopes: str
) -> httpx.Response:
    scopes = scopes or DAILY_SCOPES
    headers = person.headers(*scopes)
    seen = await client.get(TODAY, headers=headers)
    assert seen.status_code == 200, seen.text
    day = seen.json()["date"]
    assert seen.content == await _entity_bytes(app, person, scopes, day)
    one_day = await client.get(f"/v1/couples/me/prompts/{day}", headers=headers)
    assert one_day.content == seen.content
    assert _headers(one_day) == _headers(seen)
    again = await client.get(TODAY, headers={**headers, "If-None-Match": seen.headers["etag"]})
    assert again.status_code == 304
    return seen


async def test_every_stage_of_a_day_reads_as_before(
    client: httpx.AsyncClient, couple: tuple[Person, Person], app: FastAPI
) -> None:
    ann, bo = couple
    no_answers = await _same_as_entities(client, app, ann)
    assert no_answers.json()["state"] == "open"
    day = no_answers.json()["date"]
    await _same_as_entities(client, app, bo, "prompts:read")

    assert (await answer(client, ann, day, 'my secret, ünïcode \u2028 and "quotes"')).is_success
    mine = await _same_as_entities(client, app, ann)
    assert mine.json()["my_answer"]["text"].startswith("my secret")
    hidden = await _same_as_entities(client, app, bo)
    assert hidden.json()["partner_answered"] is True
    assert hidden.json()["partner_answer"] is None
    assert "secret" not in hidden.text
    without_answers = await _same_as_entities(client, app, ann, "prompts:read")
    assert without_answers.json()["my_answer"] is None

    revealed = await answer(client, bo, day, "mine too")
    partner_answer_id = revealed.json()["partner_answer"]["id"]
    for text in ("I hear you", "and I am curious"):
        reflected = await client.post(
            f"/v1/answers/{partner_answer_id}/reflections",
            json={"kind": "ask", "text": text},
            headers=bo.headers(*DAILY_SCOPES),
        )
        assert reflected.status_code == 201
    crypto.cache.clear()  # no data key in the process: the texts open through a session
    both = await _same_as_entities(client, app, ann)
    assert [r["text"] for r in both.json()["my_answer"]["reflections"]] == [
        "I hear you",
        "and I am curious",
    ]
    theirs = await _same_as_entities(client, app, bo)
    assert theirs.json()["partner_answer"]["text"].startswith("my secret")
    await _same_as_entities(client, app, bo, "prompts:read")

    # Ann's data key destroyed (erasure): her words, answer and all, open as "".
    async with app.state.sessionmaker() as session, session.begin():
        await destroy_data_key(session, ann.user.id)
    erased = await _same_as_entities(client, app, bo)
    assert erased.json()["partner_answer"]["text"] == ""
    assert erased.json()["my_answer"]["text"] == "mine too"
    assert "secret" not in erased.text
    await _same_as_entities(client, app, ann)


async def test_only_the_texts_shown_are_opened(
    client: httpx.AsyncClient,
    couple: tuple[Person, Person],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ann, bo = couple
    clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    yesterday = (await client.get(TODAY, headers=ann.headers(*DAILY_SCOPES))).json()["date"]
    await answer(client, ann, yesterday, "ann yesterday")
    await answer(client, bo, yesterday, "bo yesterday")
    clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(days=1))
    today = (await client.get(TODAY, headers=ann.headers(*DAILY_SCOPES))).json()["date"]
    ann_today = (await answer(client, ann, today, "ann today")).json()["my_answer"]["id"]
    revealed = (await answer(client, bo, today, "bo today")).json()
    assert revealed["state"] == "revealed"
    bo_today = revealed["my_answer"]["id"]

    opened: list[list[Any]] = []
    real_cached, real_all = sealed_today.open_cached, sealed_today.open_all

    def cached(values: list[Any]) -> list[Any] | None:
        opened.append([row_id for _, _, row_id, _ in values])
        return real_cached(values)

    async def every(session: Any, values: list[Any]) -> list[Any]:
        opened.append([row_id for _, _, row_id, _ in values])
        return await real_all(session, values)

    monkeypatch.setattr(f"{HOT}.open_cached", cached)
    monkeypatch.setattr(f"{HOT}.open_all", every)
    # Revealed today, yesterday too: only today's two answers open, yesterday's never.
    seen = await client.get(TODAY, headers=bo.headers(*DAILY_SCOPES))
    assert seen.json()["partner_answer"]["text"] == "ann today"
    assert {str(i) for i in opened[0]} == {ann_today, bo_today}
    assert "yesterday" not in seen.text
    # Without `answers:read`, nothing opens at all.
    opened.clear()
    assert (await client.get(TODAY, headers=bo.headers("prompts:read"))).status_code == 200
    assert opened == []


async def test_a_partner_answer_not_revealed_is_never_opened(
    client: httpx.AsyncClient, couple: tuple[Person, Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, bo = couple
    day = (await client.get(TODAY, headers=ann.headers(*DAILY_SCOPES))).json()["date"]
    await answer(client, ann, day, "ann alone")
    opened: list[Any] = []
    real_cached = sealed_today.open_cached

    def cached(values: list[Any]) -> list[Any] | None:
        opened.extend(values)
        return real_cached(values)

    monkeypatch.setattr(f"{HOT}.open_cached", cached)
    seen = await client.get(TODAY, headers=bo.headers(*DAILY_SCOPES))
    assert seen.json()["partner_answered"] is True
    assert opened == []  # Bo has no answer; Ann's stays sealed
