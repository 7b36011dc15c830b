"""Time together over HTTP: two partners see the curated ideas in their own languages, mark
them privately, meet on a match only when both want it, plan it, say how it went, and the
insight counts it; refusals change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from tests.activities_support import (
    GERMAN,
    IDEAS,
    MATCHES,
    couple_with_ideas,
    h,
    mark,
    matches,
    plan,
    send,
)
from tests.conftest import Clock, MakeUser

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)


async def test_two_partners_find_plan_and_review_an_activity_together(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    clock.set(NOW)
    c = await couple_with_ideas(app, client, make_user)
    ann, bo = c.ann, c.bo
    walk, game = (str(idea) for idea in c.play)

    # The curated ideas are the play prompts, each partner in their own language.
    english = await client.get(IDEAS, headers=h(ann))
    assert english.status_code == 200, english.text
    listed = {idea["id"]: idea for idea in english.json()["data"]}
    assert set(listed) == {walk, game}  # the share prompt is not an activity idea
    assert listed[walk]["source"] == "curated" and listed[walk]["fallback"] is False
    assert listed[walk]["title"] == "play prompt 1 at depth 1"
    german = await client.get(IDEAS, headers=h(bo) | {"Accept-Language": "de"})
    in_german = {idea["id"]: idea for idea in german.json()["data"]}
    assert in_german[walk]["title"] == GERMAN and in_german[walk]["locale"] == "de"
    assert in_german[game]["fallback"] is True and in_german[game]["locale"] == "en"
    assert set(german.headers["content-language"].split(", ")) == {"de", "en"}

    # An idea of their own, sealed words both partners read.
    own = await send(
        client, "POST", IDEAS, h(ann), {"title": "Night picnic", "note": "bring a torch"}, 201
    )
    assert own["source"] == "own" and own["author_id"] == str(ann.id)
    seen_by_bo = await send(client, "GET", f"{IDEAS}/{own['id']}", h(bo))
    assert seen_by_bo["title"] == "Night picnic" and seen_by_bo["my_mark"] is None

    # Marks are private: Bo's "not now" changes nothing Ann can see.
    await mark(client, ann, walk, "want")
    before = await client.get(f"{IDEAS}/{walk}", headers=h(ann))
    bos = await mark(client, bo, walk, "not_now")
    assert bos["my_mark"] == "not_now" and bos["match_id"] is None
    after = await client.get(f"{IDEAS}/{walk}", headers=h(ann))
    assert after.content == before.content and after.headers["etag"] == before.headers["etag"]
    assert after.json()["my_mark"] == "want" and after.json()["match_id"] is None
    assert await matches(client, ann) == [] and await matches(client, bo) == []
    assert (await send(client, "GET", f"{IDEAS}/{walk}", h(bo)))["my_mark"] == "not_now"

    # Both want the picnic: a match for both.
    await mark(client, bo, own["id"], "want")
    assert await matches(client, ann) == []
    matched = await mark(client, ann, own["id"], "want")
    assert matched["match_id"] is not None
    [anns], [bos_match] = await matches(client, ann), await matches(client, bo)
    assert anns["id"] == bos_match["id"] == matched["match_id"]
    assert anns["status"] == "matched" and anns["idea"]["title"] == "Night picnic"

    # A match withdrawn before it is planned goes away for both.
    await mark(client, bo, walk, "want")
    assert len(await matches(client, ann)) == 2
    await mark(client, bo, walk, None)
    assert [m["id"] for m in await matches(client, ann)] == [anns["id"]]
    assert (await send(client, "GET", f"{IDEAS}/{walk}", h(bo)))["my_mark"] is None

    # Planned for a local date two days ahead; reviews only from that day on.
    match_path = f"{MATCHES}/{anns['id']}"
    day = (NOW + timedelta(days=2)).date().isoformat()
    planned = await plan(client, bo, anns["id"], day)
    assert planned["status"] == "planned" and planned["planned_for"] == day
    assert planned["planned_by"] == str(bo.id) and planned["can_review"] is False
    early = await client.post(f"{match_path}/reviews", json={"rating": 5}, headers=h(ann))
    assert early.status_code == 409 and early.json()["reason"] == "too_early"

    clock.advance(timedelta(days=2))
    review = {"rating": 5, "note": "the stars were out"}
    mine = await send(client, "POST", f"{match_path}/reviews", h(ann), review, 201)
    assert [r["note"] for r in mine["reviews"]] == ["the stars were out"]
    assert mine["status"] == "planned" and mine["can_review"] is False
    # Bo does not see Ann's review until he said his own (as answers reveal).
    bo_before = await send(client, "GET", match_path, h(bo))
    assert bo_before["reviews"] == [] and bo_before["can_review"] is True
    done = await send(client, "POST", f"{match_path}/reviews", h(bo), {"rating": 4}, 201)
    assert done["status"] == "done" and done["completed_at"] is not None
    assert sorted(r["rating"] for r in done["reviews"]) == [4, 5]
    assert len((await send(client, "GET", match_path, h(ann)))["reviews"]) == 2
    again = await client.post(f"{match_path}/reviews", json={"rating": 3}, headers=h(ann))
    assert again.status_code == 409 and again.json()["reason"] == "already_reviewed"
    locked = await plan(client, ann, anns["id"], None, status=409)
    assert locked["type"] == "/problems/activity-plan-reviewed"

    # The done activity is a light moment in the couple's balance.
    figures = await send(
        client, "GET", "/v1/couples/me/insights?window=30d", h(ann, "insights:read")
    )
    light = figures["light_and_deep"]
    assert light["activities_done"] == 1 and light["light_moments"] == 1
    assert light["play_in_last_14_days"] is True and light["deep_share"] == 0.0

    # The sync feed: the couple's moves, never a mark.
    for person in (ann, bo):
        feed = await client.get("/v1/sync", headers=h(person, "activities:read"))
        assert feed.status_code == 200, feed.text
        types = [i["type"] for i in feed.json()["data"] if i["type"].startswith("activity.")]
        assert types == [
            "activity.idea_added",
            "activity.matched",
            "activity.matched",
            "activity.unmatched",
            "activity.planned",
            "activity.completed",
        ]
        for word in ("not_now", "want", "picnic", "stars", '"mark"'):
            assert word not in feed.text, word


async def test_bad_input_is_a_problem_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    clock.set(NOW)
    c = await couple_with_ideas(app, client, make_user)
    ann, bo = c.ann, c.bo
    walk = str(c.play[0])
    unknown = "00000000-0000-4000-8000-000000000000"

    async def problem(method: str, path: str, body: object, status: int, **extra: str) -> str:
        response = await client.request(method, path, json=body, headers=h(ann) | extra)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        return str(response.json()["type"])

    assert await problem("PUT", f"{IDEAS}/{unknown}/mark", {"mark": "want"}, 404) == (
        "/problems/activity-idea-not-found"
    )
    assert await problem("PUT", f"{IDEAS}/{walk}/mark", {"mark": "yes"}, 422)
    assert await problem("PUT", f"{IDEAS}/{walk}/mark", {}, 422)
    assert await problem("PUT", f"{IDEAS}/not-a-uuid/mark", {"mark": "want"}, 422)
    assert await problem("POST", IDEAS, {"title": ""}, 422)
    assert await problem("POST", IDEAS, {"title": "x" * 201}, 422)
    assert await problem("POST", IDEAS, {"title": "ok", "extra": 1}, 422)
    # Planning a non-match: an idea only one partner wants has no match to plan.
    mine = await mark(client, ann, walk, "want")
    assert mine["match_id"] is None
    assert await problem("PATCH", f"{MATCHES}/{walk}", {"planned_for": "2026-12-05"}, 404) == (
        "/problems/activity-match-not-found"
    )
    await mark(client, bo, walk, "want")
    [match] = await matches(client, ann)
    path = f"{MATCHES}/{match['id']}"
    etag = (await client.get(path, headers=h(ann))).headers["etag"]
    for bad in ("2026-13-01", "tomorrow", "20261205", 5):
        await problem("PATCH", path, {"planned_for": bad}, 422, **{"If-Match": etag})
    assert await problem("PATCH", path, {"planned_for": "2026-11-30"}, 422, **{"If-Match": etag})
    assert await problem("PATCH", path, {"planned_for": "2026-12-05"}, 428)
    stale = {"If-Match": '"stale"'}
    assert await problem("PATCH", path, {"planned_for": "2026-12-05"}, 412, **stale)
    review = f"{path}/reviews"
    assert await problem("POST", review, {"rating": 4}, 409) == (
        "/problems/activity-review-not-possible"
    )
    await plan(client, ann, match["id"], "2026-12-01")  # today is fine
    for rating in (0, 6, "5", None):
        assert await problem("POST", review, {"rating": rating}, 422)
    assert await problem("POST", review, {"rating": 3, "note": "x" * 1001}, 422)
    current = await send(client, "GET", path, h(ann))
    assert current["reviews"] == [] and current["planned_for"] == "2026-12-01"

    # Removing an idea: only its author, and not once it is planned.
    own = await send(client, "POST", IDEAS, h(ann), {"title": "Pottery class"}, 201)
    refused = await client.delete(f"{IDEAS}/{own['id']}", headers=h(bo))
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/activity-idea-not-yours"
    curated = await client.delete(f"{IDEAS}/{walk}", headers=h(ann))
    assert curated.status_code == 404  # a curated idea is nobody's to remove
    await mark(client, ann, own["id"], "want")
    await mark(client, bo, own["id"], "want")
    own_match = next(m for m in await matches(client, ann) if m["idea"]["id"] == own["id"])
    await plan(client, bo, own_match["id"], "2026-12-03")
    planned = await client.delete(f"{IDEAS}/{own['id']}", headers=h(ann))
    assert planned.status_code == 409
    await plan(client, bo, own_match["id"], None)
    gone = await client.delete(f"{IDEAS}/{own['id']}", headers=h(ann))
    assert gone.status_code == 204
    assert (await client.get(f"{IDEAS}/{own['id']}", headers=h(bo))).status_code == 404
    assert [m["id"] for m in await matches(client, bo)] == [match["id"]]


async def test_the_ideas_list_pages_through_everything_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    clock.set(NOW)
    c = await couple_with_ideas(app, client, make_user)
    for n in range(5):
        clock.advance(timedelta(minutes=1))
        await send(client, "POST", IDEAS, h(c.ann), {"title": f"idea {n}"}, 201)
    seen: list[str] = []
    path = f"{IDEAS}?limit=2"
    while True:
        page = await send(client, "GET", path, h(c.bo))
        seen += [idea["id"] for idea in page["data"]]
        if not page["has_more"]:
            break
        path = f"{IDEAS}?limit=2&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 7
    titles = [i["title"] for i in (await send(client, "GET", IDEAS, h(c.bo)))["data"]]
    assert titles[:5] == [f"idea {n}" for n in (4, 3, 2, 1, 0)]  # newest first
    tampered = await client.get(f"{IDEAS}?cursor=abc", headers=h(c.bo))
    assert tampered.status_code == 422


async def test_partners_marking_at_the_same_moment_still_meet(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    clock.set(NOW)
    c = await couple_with_ideas(app, client, make_user)
    ideas = [
        (await send(client, "POST", IDEAS, h(c.ann), {"title": f"race {n}"}, 201))["id"]
        for n in range(4)
    ]
    # Each pair of marks races; the couple's row lock queues them, so the later one sees
    # the earlier and exactly one match is stored per idea.
    for idea in ideas:
        marked = await asyncio.gather(
            *(
                client.put(f"{IDEAS}/{idea}/mark", json={"mark": "want"}, headers=h(person))
                for person in (c.ann, c.bo)
            )
        )
        assert [r.status_code for r in marked] == [200, 200], [r.text for r in marked]
    found = await matches(client, c.bo)
    assert sorted(m["idea"]["id"] for m in found) == sorted(ideas)
