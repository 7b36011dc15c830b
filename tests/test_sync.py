"""The sync feed: the events a person may see, in order, never a partner's private item."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.events import append_event
from app.models.base import utcnow
from app.models.users import Role
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair, publish_library, start_couple
from tests.repair_support import THERAPIST, change_consent, grant, register_therapist
from tests.sync_support import SYNC, checkin, fetch, fetch_all, h

SECRET = "I am scared you will leave like my father did"


async def set_visibility(
    client: httpx.AsyncClient, person: Person, checkin_id: str, visibility: str
) -> None:
    response = await client.patch(
        f"/v1/checkins/{checkin_id}",
        json={"visibility": visibility},
        headers={**h(person), "If-Match": "*"},
    )
    assert response.status_code == 200, response.text


async def test_the_feed_never_shows_a_partners_private_item(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, cy, di = [await make_user() for _ in range(4)]
    couple = await pair(client, ann, bo)
    await pair(client, cy, di)
    private = await checkin(client, ann, "private", SECRET)
    shared = await checkin(client, ann, "partner", "a shared one")
    unshared = await checkin(client, ann, "partner", SECRET + " (shared once)")
    await set_visibility(client, ann, unshared, "private")
    await checkin(client, cy, "partner", "another couple's")

    response = await client.get(SYNC, headers=h(bo))
    assert response.status_code == 200, response.text
    assert SECRET not in response.text and private not in response.text
    items = response.json()["data"]
    assert all(
        item["data"]["user_id"] == str(bo.id) or item["data"]["couple_id"] == couple["id"]
        for item in items
    )
    assert str(ann.id) not in {i["data"]["user_id"] for i in items if i["type"] == "user.created"}
    by_checkin: dict[str, list[tuple[str, Any]]] = {}
    for item in items:
        if item["type"].startswith("checkin."):
            by_checkin.setdefault(item["data"]["checkin_id"], []).append(
                (item["type"], item["resource"])
            )
    assert set(by_checkin) == {shared, unshared}
    ((kind, resource),) = by_checkin[shared]
    assert kind == "checkin.shared" and resource["note"] == "a shared one"
    assert by_checkin[unshared] == [
        ("checkin.shared", {"deleted": True}),
        ("checkin.unshared", {"deleted": True}),
    ]
    joined = next(item for item in items if item["type"] == "couple.joined")
    assert joined["resource"]["id"] == couple["id"]
    assert {m["user_id"] for m in joined["resource"]["members"]} == {str(ann.id), str(bo.id)}
    seqs = [item["seq"] for item in items]
    assert seqs == sorted(set(seqs))
    assert set(items[0]) >= {"seq", "id", "type", "occurred_at", "data", "resource"}

    mine = (await client.get(SYNC, headers=h(ann))).text
    assert private not in mine  # a private check-in leaves no event, even for its author


async def test_events_before_joining_and_after_the_end_are_absent(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann, bo = await make_user(), await make_user()
    created = await start_couple(client, ann)
    couple_id = uuid.UUID(str(created["id"]))
    before = await client.patch(
        "/v1/couples/me", json={"max_depth": 2}, headers={**h(ann), "If-Match": "*"}
    )
    assert before.status_code == 200, before.text
    code = created["invite"]["code"]
    joined = await client.post("/v1/couples/join", json={"code": code}, headers=h(bo))
    assert joined.status_code == 200
    left = await client.post("/v1/couples/me/leave", headers=h(bo))
    assert left.status_code == 204
    async with sessionmaker() as session, session.begin():  # a late write about the couple
        await append_event(session, "couple.updated", couple_id=couple_id)
    await start_couple(client, ann)  # Ann's next couple is none of Bo's business

    items, _ = await fetch_all(client, bo)
    couple_types = [i["type"] for i in items if i["data"]["couple_id"] is not None]
    assert couple_types == ["couple.joined", "couple.ended"]
    assert {i["data"]["couple_id"] for i in items if i["data"]["couple_id"]} == {str(couple_id)}

    ann_items, _ = await fetch_all(client, ann)
    ann_couple_types = [i["type"] for i in ann_items if i["data"]["couple_id"] == str(couple_id)]
    assert ann_couple_types == [
        "couple.created",
        "couple.updated",
        "couple.joined",
        "couple.ended",
    ]


async def test_pages_skip_and_repeat_nothing_under_concurrent_writes(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    for n in range(5):
        await checkin(client, ann, "partner", f"before {n}")
    seen: list[int] = []
    cursor = None
    writes = 0
    while True:
        page = await fetch(client, bo, cursor, limit=2)
        seen += [item["seq"] for item in page["data"]]
        cursor = page["next_cursor"]
        if writes < 4:  # the partner keeps writing between page fetches
            await checkin(client, ann, "partner", f"during {writes}")
            writes += 1
        if not page["has_more"]:
            break
    everything, _ = await fetch_all(client, bo)
    assert seen == [item["seq"] for item in everything]
    assert len(seen) == len(set(seen))


async def test_the_last_pages_cursor_brings_only_newer_events(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    _, cursor = await fetch_all(client, bo)
    empty = await fetch(client, bo, cursor)
    assert empty["data"] == [] and empty["has_more"] is False and empty["next_cursor"]
    new = await checkin(client, ann, "partner", "later")
    later = await fetch(client, bo, empty["next_cursor"])
    assert [(i["type"], i["data"]["checkin_id"]) for i in later["data"]] == [
        ("checkin.shared", new)
    ]
    assert (await fetch(client, bo, later["next_cursor"]))["data"] == []


async def test_a_cursor_older_than_the_retention_horizon_is_gone(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock, app: FastAPI
) -> None:
    ann = await make_user()
    start = utcnow()
    clock.set(start)
    cursor = (await fetch(client, ann))["next_cursor"]
    clock.set(start + timedelta(days=89))
    assert (await client.get(SYNC, params={"cursor": cursor}, headers=h(ann))).status_code == 200
    clock.set(start + timedelta(days=app.state.settings.sync_retention_days, hours=1))
    gone = await client.get(SYNC, params={"cursor": cursor}, headers=h(ann))
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["type"] == "/problems/sync-cursor-expired"
    assert "resync" in gone.json()["detail"].lower()


async def test_bad_and_borrowed_cursors_are_refused(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    cursor = (await fetch(client, ann))["next_cursor"]
    borrowed = await client.get(SYNC, params={"cursor": cursor}, headers=h(bo))
    assert borrowed.status_code == 422
    forged = await client.get(SYNC, params={"cursor": "WzAsMF0.AAAA"}, headers=h(ann))
    assert forged.status_code == 422


async def test_who_may_sync_and_what_the_scopes_let_through(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    await checkin(client, ann, "partner", "shared")
    profile_only = await client.get(SYNC, headers=bo.headers("profile"))
    assert profile_only.status_code == 200
    assert {i["type"] for i in profile_only.json()["data"]} == {"user.created"}
    couple_only = await client.get(SYNC, headers=bo.headers("couple:read"))
    assert {i["type"] for i in couple_only.json()["data"]} == {"couple.joined"}

    admin = await make_user(role=Role.admin)
    no_member_scope = await client.get(SYNC, headers=admin.headers("admin:users"))
    assert no_member_scope.status_code == 403
    token, _ = app.state.tokens.issue(subject="svc", client_id="svc", scope="couple:read")
    as_client = await client.get(SYNC, headers={"Authorization": f"Bearer {token}"})
    assert as_client.status_code == 403
    assert (await client.get(SYNC)).status_code == 401


async def test_queries_per_page_are_bounded(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: Any
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    for n in range(4):
        await checkin(client, ann, "partner", f"n{n}")
    with count_queries() as small:
        await fetch(client, bo, limit=2)
    for n in range(12):
        await checkin(client, ann, "partner", f"m{n}")
    with count_queries() as large:
        page = await fetch(client, bo, limit=100)
    assert len(page["data"]) >= 18
    # windows, events, the caller's couples and their members (for the consent rule), the
    # check-ins, couples, members (+ pending invites): whatever the size
    assert small.count <= large.count <= 7, large.statements


async def test_answers_sync_as_the_day_view_and_stay_hidden_until_revealed(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    day = (await client.get("/v1/couples/me/prompts/today", headers=h(ann))).json()["date"]
    hidden = "the thing I never told anyone"
    put = await client.put(
        f"/v1/couples/me/prompts/{day}/answer", json={"text": hidden}, headers=h(ann)
    )
    assert put.status_code == 200, put.text

    response = await client.get(SYNC, headers=h(bo))
    assert hidden not in response.text
    items = response.json()["data"]
    submitted = next(i for i in items if i["type"] == "answer.submitted")
    assert submitted["resource"]["partner_answered"] is True
    assert submitted["resource"]["partner_answer"] is None
    assigned = next(i for i in items if i["type"] == "prompt.assigned")
    assert assigned["resource"]["date"] == day

    await client.put(f"/v1/couples/me/prompts/{day}/answer", json={"text": "mine"}, headers=h(bo))
    revealed = (await client.get(SYNC, headers=h(bo))).json()["data"]
    last = next(i for i in revealed if i["type"] == "answer.revealed")
    assert last["resource"]["partner_answer"]["text"] == hidden


async def test_an_ex_partners_feed_drops_the_shared_checkins_the_end_hid(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    couple = await pair(client, ann, bo)
    bos_shared = await checkin(client, bo, "partner", "bo shared this")
    bos_private = await checkin(client, bo, "private", SECRET)
    anns_shared = await checkin(client, ann, "partner", "ann shared this")
    _, ann_cursor = await fetch_all(client, ann)
    _, bo_cursor = await fetch_all(client, bo)
    assert (await client.post("/v1/couples/me/leave", headers=h(bo))).status_code == 204

    later, _ = await fetch_all(client, ann, ann_cursor)
    (ended,) = [i for i in later if i["type"] == "couple.ended"]
    assert ended["data"]["couple_id"] == couple["id"]
    # Ann's app drops Bo's shared check-in; Ann's own stays hers; Bo's private one was never
    # Ann's to know of, not even as a tombstone.
    assert ended["tombstones"] == [{"type": "checkin", "id": bos_shared}]
    assert bos_private not in str(later) and SECRET not in str(later)
    bos_later, _ = await fetch_all(client, bo, bo_cursor)
    (bos_end,) = [i for i in bos_later if i["type"] == "couple.ended"]
    assert bos_end["tombstones"] == [{"type": "checkin", "id": anns_shared}]

    # From scratch, the ex-partner's check-in items are tombstones; the author's are not.
    items, _ = await fetch_all(client, ann)
    resources = {
        i["data"]["checkin_id"]: i["resource"] for i in items if i["type"] == "checkin.shared"
    }
    assert resources[bos_shared] == {"deleted": True}
    assert resources[anns_shared]["note"] == "ann shared this"


async def test_own_private_writing_syncs_to_its_author_through_trusted_apps_only(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    made_private = await checkin(client, ann, "partner", SECRET)
    await set_visibility(client, ann, made_private, "private")

    async def resources(person: Person, *scopes: str, client_id: str) -> list[Any]:
        response = await client.get(
            SYNC, params={"limit": 100}, headers=person.headers(*scopes, client_id=client_id)
        )
        assert response.status_code == 200, response.text
        return [
            i["resource"]
            for i in response.json()["data"]
            if i["type"].startswith("checkin.") and i["data"]["checkin_id"] == made_private
        ]

    first_party = await resources(ann, "checkins:read", client_id="rapport-mobile")
    assert [r["note"] for r in first_party] == [SECRET, SECRET]
    sensitive = await resources(ann, "checkins:read", "checkins:private", client_id="wellbeing")
    assert [r["note"] for r in sensitive] == [SECRET, SECRET]
    # A third-party app without the sensitive scope, and the partner, get tombstones only.
    plain = await resources(ann, "checkins:read", client_id="wellbeing")
    assert plain == [{"deleted": True}, {"deleted": True}]
    partners = await resources(bo, "checkins:read", "checkins:private", client_id="wellbeing")
    assert partners == [{"deleted": True}, {"deleted": True}]


async def test_repair_events_reach_a_third_party_feed_only_while_both_partners_allow_it(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    from tests.repair_support import propose

    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    await register_therapist(app)
    await propose(client, ann)

    async def repair_types(person: Person, client_id: str = THERAPIST) -> list[str]:
        response = await client.get(
            SYNC, headers=person.headers("repair:read", "couple:read", client_id=client_id)
        )
        assert response.status_code == 200, response.text
        return [i["type"] for i in response.json()["data"] if i["type"].startswith("repair")]

    assert await repair_types(ann, "rapport-mobile") == ["repair_plan.proposed"]
    await grant(app, ann)
    assert await repair_types(ann) == []  # Bo has not allowed the therapist's app
    assert await repair_types(bo) == []
    await grant(app, bo)
    assert await repair_types(ann) == await repair_types(bo) == ["repair_plan.proposed"]
    await change_consent(app, bo)
    assert await repair_types(ann) == []
    assert await repair_types(bo) == []
