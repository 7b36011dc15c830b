"""Insight formulas on constructed histories with known answers (docs/insights.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ActivityMatch
from app.models.activities import IdeaSource
from app.models.prompts import Category
from app.services.clients import register_client
from app.services.insights import balance_index
from tests import insights_support
from tests.conftest import Clock, MakeUser
from tests.insights_support import NOW, SCOPES, TODAY, History, insights, partner

setup = insights_support.setup  # the fixture: a couple with a history written for it


def test_balance_index_formula() -> None:
    assert balance_index(5, 5) == 1.0
    assert balance_index(8, 0) == 0.0
    assert balance_index(8, 3) == round(1 - 5 / 11, 3)
    assert balance_index(0, 0) is None


async def test_sharing_balance_counts_only_what_was_shared(
    client: httpx.AsyncClient, setup: History
) -> None:
    h = setup
    answers = [await h.revealed_day(TODAY - timedelta(days=n)) for n in (1, 2, 3)]
    for n in (1, 2, 3):
        await h.checkin(h.ann, TODAY - timedelta(days=n), 4, shared=True)
    for n in range(5):
        await h.checkin(h.bo, TODAY - timedelta(days=n), 3, shared=False)  # private: never counted
    for _ann_answer, bo_answer in answers[:2]:
        await h.reflection(h.ann, bo_answer, NOW - timedelta(hours=1))
    # Outside the window: ignored.
    await h.revealed_day(TODAY - timedelta(days=40))

    figures = await insights(client, h.bo)
    sharing = figures["sharing"]
    ann, bo = partner(sharing["partners"], h.ann), partner(sharing["partners"], h.bo)
    assert (
        ann["revealed_answers"],
        ann["shared_checkins"],
        ann["reflections_given"],
        ann["total"],
    ) == (3, 3, 2, 8)
    assert (
        bo["revealed_answers"],
        bo["shared_checkins"],
        bo["reflections_given"],
        bo["total"],
    ) == (3, 0, 0, 3)
    assert sharing["balance_index"] == round(1 - 5 / 11, 3)
    assert sharing["one_sided"] is True


async def test_streak_counts_consecutive_revealed_days(
    client: httpx.AsyncClient, setup: History, clock: Clock
) -> None:
    h = setup
    for n in (1, 2, 3, 5, 6):
        await h.revealed_day(TODAY - timedelta(days=n))
    await h.revealed_day(TODAY, revealed=False)  # today still open: the streak holds
    assert (await insights(client, h.ann))["streak"] == {"days": 3, "today_open": True}
    clock.set(NOW + timedelta(days=1))  # a day with no reveal breaks it
    assert (await insights(client, h.ann))["streak"] == {"days": 0, "today_open": True}


async def test_the_streak_follows_the_couples_time_zone(
    client: httpx.AsyncClient, setup: History, clock: Clock
) -> None:
    h = setup
    etag = (await client.get("/v1/couples/me", headers=h.ann.headers(*SCOPES))).headers["etag"]
    await client.patch(
        "/v1/couples/me",
        json={"timezone": "Pacific/Kiritimati"},
        headers={**h.ann.headers(*SCOPES), "If-Match": etag},
    )
    for n in (0, 1, 2):
        await h.revealed_day(TODAY - timedelta(days=n))
    # 11:00 UTC on the 15th is already the 16th in Kiritimati (UTC+14): today is open.
    clock.set(datetime(2026, 6, 15, 11, tzinfo=UTC))
    assert (await insights(client, h.ann))["streak"] == {"days": 3, "today_open": True}
    # 09:00 UTC is still the 15th there: today is revealed.
    clock.set(datetime(2026, 6, 15, 9, tzinfo=UTC))
    assert (await insights(client, h.ann))["streak"] == {"days": 3, "today_open": False}


async def test_too_heavy_when_deep_without_play(client: httpx.AsyncClient, setup: History) -> None:
    h = setup
    for n in (1, 2, 3):
        await h.revealed_day(TODAY - timedelta(days=n), Category.share, 3)
    await h.revealed_day(TODAY - timedelta(days=4), Category.listen, 1)
    light_and_deep = (await insights(client, h.ann))["light_and_deep"]
    assert light_and_deep["revealed_days"] == 4
    assert light_and_deep["by_depth"] == {"1": 1, "2": 0, "3": 3}
    assert light_and_deep["deep_share"] == 0.75
    assert light_and_deep["too_heavy"] is True

    await h.revealed_day(TODAY - timedelta(days=10), Category.play, 1)
    light_and_deep = (await insights(client, h.ann))["light_and_deep"]
    assert light_and_deep["play_in_last_14_days"] is True
    assert light_and_deep["too_heavy"] is False
    assert light_and_deep["by_category"]["play"] == 1


async def test_done_activities_are_light_moments_in_the_balance(
    client: httpx.AsyncClient, setup: History
) -> None:
    h = setup
    for n in (1, 2, 3):
        await h.revealed_day(TODAY - timedelta(days=n), Category.share, 3)
    assert (await insights(client, h.ann))["light_and_deep"]["too_heavy"] is True

    async def activity(day: date, *, done: bool) -> None:
        async with h.sessionmaker() as session, session.begin():
            session.add(
                ActivityMatch(
                    couple_id=h.couple_id,
                    idea_id=uuid.uuid4(),
                    source=IdeaSource.own,
                    planned_for=day,
                    completed_at=NOW if done else None,
                )
            )

    await activity(TODAY - timedelta(days=2), done=False)  # planned, not both answered
    await activity(TODAY - timedelta(days=40), done=True)  # outside the window
    light = (await insights(client, h.ann))["light_and_deep"]
    assert light["activities_done"] == 0 and light["too_heavy"] is True
    await activity(TODAY - timedelta(days=20), done=True)  # in the window, not the lookback
    light = (await insights(client, h.ann))["light_and_deep"]
    assert light["activities_done"] == 1 and light["light_moments"] == 1
    assert light["revealed_days"] == 3 and light["deep_share"] == 0.75
    assert light["play_in_last_14_days"] is False and light["too_heavy"] is True
    await activity(TODAY - timedelta(days=5), done=True)  # a recent light moment
    light = (await insights(client, h.ann))["light_and_deep"]
    assert light["activities_done"] == 2 and light["deep_share"] == 0.6
    assert light["play_in_last_14_days"] is True and light["too_heavy"] is False


async def test_responsiveness_measures_reflections_on_partner_shares(
    client: httpx.AsyncClient, setup: History
) -> None:
    h = setup
    _, first_bo = await h.revealed_day(TODAY - timedelta(days=2))
    await h.revealed_day(TODAY - timedelta(days=1))
    revealed_at = datetime(2026, 6, 13, 20, tzinfo=UTC)
    await h.reflection(h.ann, first_bo, revealed_at + timedelta(hours=1))
    await h.reflection(h.ann, first_bo, revealed_at + timedelta(hours=5))  # only the first counts
    shared = await h.checkin(h.bo, TODAY - timedelta(days=1), 3, shared=True)
    await h.reflection(h.ann, shared, datetime(2026, 6, 14, 12, tzinfo=UTC))  # 3 h after sharing
    figures = (await insights(client, h.bo))["responsiveness"]
    ann_listening = partner(figures, h.ann)
    assert ann_listening["shares_received"] == 3  # Bo's two answers and one check-in
    assert ann_listening["responded"] == 2
    assert ann_listening["response_rate"] == round(2 / 3, 3)
    assert ann_listening["median_seconds_to_reflection"] == (3600 + 3 * 3600) / 2
    assert partner(figures, h.bo)["responded"] == 0


async def test_mood_and_the_suggestion_of_support(
    client: httpx.AsyncClient, setup: History
) -> None:
    h = setup
    for n in (0, 4, 8, 12, 15):
        await h.checkin(h.bo, TODAY - timedelta(days=n), 1 if n % 2 == 0 else 2, shared=True)
    await h.checkin(h.ann, TODAY, 5, shared=False)

    seen_by_ann = await insights(client, h.ann)
    support = seen_by_ann["suggest_professional_support"]
    assert support["suggested"] is True
    assert [r["code"] for r in support["reasons"]] == ["low_shared_mood"]
    assert "diagnos" in support["message"]
    ann_mood = partner(seen_by_ann["mood"], h.ann)
    assert ann_mood["includes_private"] is True
    assert [w["average"] for w in ann_mood["weeks"]] == [5.0]

    seen_by_bo = await insights(client, h.bo)
    ann_for_bo = partner(seen_by_bo["mood"], h.ann)
    assert ann_for_bo["weeks"] == [] and ann_for_bo["includes_private"] is False
    bo_weeks = partner(seen_by_bo["mood"], h.bo)["weeks"]
    assert sum(w["check_ins"] for w in bo_weeks) == 5
    assert all(w["week_start"] <= TODAY.isoformat() for w in bo_weeks)


async def test_a_third_party_apps_figures_count_no_private_checkin(
    client: httpx.AsyncClient, setup: History, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    h = setup
    await h.checkin(h.ann, TODAY, 5, shared=False)
    await h.checkin(h.ann, TODAY, 3, shared=True)
    async with sessionmaker() as session, session.begin():
        for client_id, first_party in (("closer-together", False), ("rapport-web", True)):
            await register_client(
                session,
                name=client_id,
                redirect_uris=["https://apps.example/callback"],
                scopes=[*SCOPES, "checkins:private"],
                confidential=False,
                first_party=first_party,
                client_id=client_id,
            )

    async def own_mood(client_id: str) -> dict[str, Any]:
        headers = h.ann.headers(*SCOPES, "checkins:private", client_id=client_id)
        response = await client.get("/v1/couples/me/insights", headers=headers)
        assert response.status_code == 200, response.text
        return partner(response.json()["mood"], h.ann)

    # Even with the sensitive scope: a figure made of private writing would be an unlogged read.
    third_party = await own_mood("closer-together")
    assert third_party["includes_private"] is False
    assert [(w["average"], w["check_ins"]) for w in third_party["weeks"]] == [(3.0, 1)]
    own_app = await own_mood("rapport-web")
    assert own_app["includes_private"] is True
    assert [(w["average"], w["check_ins"]) for w in own_app["weeks"]] == [(4.0, 2)]


async def test_no_support_suggestion_when_mood_is_fine(
    client: httpx.AsyncClient, setup: History
) -> None:
    h = setup
    for n in (0, 5, 10, 15):
        await h.checkin(h.bo, TODAY - timedelta(days=n), 4, shared=True)
    support = (await insights(client, h.ann))["suggest_professional_support"]
    assert support == {"suggested": False, "reasons": [], "message": None, "resources": []}


async def test_a_private_check_in_changes_nothing_the_partner_sees(
    client: httpx.AsyncClient, setup: History
) -> None:
    h = setup
    await h.revealed_day(TODAY - timedelta(days=1))
    before = await insights(client, h.bo)
    await h.checkin(h.ann, TODAY, 1, shared=False)
    await h.checkin(h.ann, TODAY - timedelta(days=15), 1, shared=False)
    assert await insights(client, h.bo) == before


@pytest.mark.parametrize("window", ["6d", "366d", "30", "abc", "1000d"])
async def test_the_window_is_validated(
    client: httpx.AsyncClient, setup: History, window: str
) -> None:
    response = await client.get(
        f"/v1/couples/me/insights?window={window}", headers=setup.ann.headers(*SCOPES)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "window"


async def test_who_may_read_insights(
    client: httpx.AsyncClient, setup: History, make_user: MakeUser
) -> None:
    loner = await make_user()
    assert (
        await client.get("/v1/couples/me/insights", headers=loner.headers(*SCOPES))
    ).status_code == 404
    assert (
        await client.get("/v1/couples/me/insights", headers=setup.ann.headers("couple:read"))
    ).status_code == 403
    assert (await client.get("/v1/couples/me/insights")).status_code == 401


async def test_insights_cost_a_bounded_number_of_queries(
    client: httpx.AsyncClient, setup: History, count_queries: object
) -> None:
    h = setup
    for n in range(10):
        await h.revealed_day(TODAY - timedelta(days=n))
        await h.checkin(h.ann, TODAY - timedelta(days=n), 3, shared=True)
    headers = h.ann.headers(*SCOPES)
    with count_queries() as counter:  # type: ignore[operator]
        assert (
            await client.get("/v1/couples/me/insights?window=90d", headers=headers)
        ).status_code == 200
    # A fixed number, whatever the history (15 since done activities count as light moments).
    assert counter.count <= 15, counter.statements
