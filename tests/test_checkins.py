"""Check-ins: recording, vocabularies, sharing and un-sharing, reflections, the edit window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import CheckIn, Event, Reflection
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair

READ, WRITE = "checkins:read", "checkins:write"
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def h(person: Person, *scopes: str) -> dict[str, str]:
    return person.headers(*(scopes or (READ, WRITE)))


async def record(client: httpx.AsyncClient, person: Person, **fields: Any) -> dict[str, Any]:
    body = {"mood": 3, **fields}
    response = await client.post("/v1/checkins", json=body, headers=h(person))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def change(
    client: httpx.AsyncClient, person: Person, checkin_id: str, **fields: Any
) -> httpx.Response:
    current = await client.get(f"/v1/checkins/{checkin_id}", headers=h(person))
    return await client.patch(
        f"/v1/checkins/{checkin_id}",
        json=fields,
        headers={**h(person), "If-Match": current.headers["etag"]},
    )


async def test_record_and_read_a_checkin(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    # 10:30 UTC on 1 March is already 2 March in Kiribati: the author's date counts.
    ann = await make_user(timezone="Pacific/Kiritimati")
    clock.set(T0 + timedelta(hours=1))
    created = await client.post(
        "/v1/checkins",
        json={
            "mood": 4,
            "emotions": ["joyful.hopeful", "scared.anxious", "joyful.hopeful"],
            "needs": ["connection.reassurance"],
            "note": "A good day, mostly",
            "request": "A walk together tonight",
        },
        headers=h(ann),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/v1/checkins/{body['id']}"
    assert body["local_date"] == "2026-03-02"
    assert body["visibility"] == "private" and body["shared_at"] is None
    assert body["couple_id"] is None  # no couple needed to check in privately
    assert body["emotions"] == ["joyful.hopeful", "scared.anxious"]
    assert body["editable_until"] == "2026-03-02T10:30:00Z"

    fetched = await client.get(f"/v1/checkins/{body['id']}", headers=h(ann, READ))
    assert fetched.json() == body
    assert fetched.headers["etag"] == created.headers["etag"]
    cached = await client.get(
        f"/v1/checkins/{body['id']}",
        headers={**h(ann, READ), "If-None-Match": fetched.headers["etag"]},
    )
    assert cached.status_code == 304


async def test_unknown_vocabulary_keys_are_named(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann = await make_user()
    refused = await client.post(
        "/v1/checkins",
        json={
            "mood": 2,
            "emotions": ["sad.lonely", "sad.hangry"],
            "needs": ["connection.pizza", "connection.support"],
        },
        headers=h(ann),
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "/problems/unknown-vocabulary-term"
    assert [(e["pointer"], e["detail"]) for e in problem["errors"]] == [
        ("#/emotions/1", "'sad.hangry' is not a known emotion"),
        ("#/needs/0", "'connection.pizza' is not a known need"),
    ]
    assert await db.scalar(select(func.count()).select_from(CheckIn)) == 0
    for body in (
        {"mood": 0},
        {"mood": 6},
        {"mood": 3, "note": "x" * 2001},
        {"mood": 3, "request": "x" * 501},
        {"mood": True},
        {"mood": "3"},
        {"mood": 3, "note": "nul \u0000 byte"},
        {"mood": 3, "request": "lone \ud800 surrogate"},
        {"mood": 3, "emotions": ["sad.lonely\u0000"]},
    ):
        refused = await client.post(
            "/v1/checkins",
            content=json.dumps(body),  # ASCII escapes: lone surrogates travel as JSON allows
            headers={**h(ann), "Content-Type": "application/json"},
        )
        assert refused.status_code == 422, body
    checkin = await record(client, ann)
    patched = await change(client, ann, checkin["id"], needs=["autonomy.nope"])
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["pointer"] == "#/needs/0"


async def test_sharing_needs_a_partner(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    ann, bo = await make_user(), await make_user()
    alone = await client.post(
        "/v1/checkins", json={"mood": 3, "visibility": "partner"}, headers=h(ann)
    )
    assert alone.status_code == 409
    assert alone.json()["type"] == "/problems/checkin-not-shareable"
    before = await record(client, ann)
    couple = await pair(client, ann, bo)
    # Written before the couple existed: it stays out of the couple.
    late = await change(client, ann, before["id"], visibility="partner")
    assert late.status_code == 409
    shared = await record(client, ann, visibility="partner")
    assert shared["couple_id"] == couple["id"] and shared["shared_at"] is not None


async def test_unsharing_hides_the_checkin_and_its_reflections_again(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    checkin = await record(client, ann, visibility="partner", note="rough day at work")
    path = f"/v1/checkins/{checkin['id']}"
    reflected = await client.post(
        f"{path}/reflections",
        json={"kind": "reflect", "text": "It sounds like work drained you."},
        headers=h(bo),
    )
    assert reflected.status_code == 201, reflected.text
    assert reflected.json()["checkin_id"] == checkin["id"]

    unshared = await change(client, ann, checkin["id"], visibility="private")
    assert unshared.status_code == 200
    assert unshared.json()["shared_at"] is None
    for method, url, body in (
        ("GET", path, None),
        ("GET", f"{path}/reflections", None),
        ("POST", f"{path}/reflections", {"kind": "ask", "text": "and now?"}),
    ):
        hidden = await client.request(method, url, json=body, headers=h(bo))
        assert hidden.status_code == 404
        assert "rough day" not in hidden.text and "drained" not in hidden.text
    couple_list = await client.get("/v1/couples/me/checkins", headers=h(bo))
    assert couple_list.json()["data"] == []
    # The author keeps what was said while it was shared.
    own = await client.get(f"{path}/reflections", headers=h(ann))
    assert [r["text"] for r in own.json()] == ["It sounds like work drained you."]

    reshared = await change(client, ann, checkin["id"], visibility="partner")
    assert reshared.status_code == 200
    back = await client.get(f"{path}/reflections", headers=h(bo))
    assert [r["kind"] for r in back.json()] == ["reflect"]
    types = list(await db.scalars(select(Event.type).order_by(Event.seq)))
    assert [t for t in types if t.startswith(("checkin.", "reflection."))] == [
        "checkin.shared",
        "reflection.created",
        "checkin.unshared",
        "checkin.shared",
    ]


async def test_reflections_are_the_partners_alone(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    checkin = await record(client, ann, visibility="partner")
    url = f"/v1/checkins/{checkin['id']}/reflections"
    own = await client.post(url, json={"kind": "appreciate", "text": "me"}, headers=h(ann))
    assert own.status_code == 403
    assert own.json()["type"] == "/problems/own-checkin"
    fixing = await client.post(url, json={"kind": "fix", "text": "try harder"}, headers=h(bo))
    assert fixing.status_code == 422
    for kind in ("reflect", "appreciate", "ask"):
        made = await client.post(url, json={"kind": kind, "text": f"a {kind}"}, headers=h(bo))
        assert made.status_code == 201
    listed = await client.get(url, headers=h(ann, READ))
    assert [r["kind"] for r in listed.json()] == ["reflect", "appreciate", "ask"]
    data = await db.scalar(select(Event.data).where(Event.type == "reflection.created").limit(1))
    assert data is not None
    assert data["target_type"] == "checkin" and data["target_id"] == checkin["id"]
    assert set(data) == {"reflection_id", "target_type", "target_id"}


async def test_content_changes_within_24_hours_visibility_any_time(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    clock.set(T0)
    checkin = await record(client, ann, note="first words")
    clock.set(T0 + timedelta(hours=23, minutes=59))
    edited = await change(client, ann, checkin["id"], mood=5, note=None)
    assert edited.status_code == 200, edited.text
    assert edited.json()["mood"] == 5 and edited.json()["note"] is None
    assert edited.json()["updated_at"] == "2026-03-02T09:29:00Z"

    clock.set(T0 + timedelta(hours=24))
    late = await change(client, ann, checkin["id"], mood=1)
    assert late.status_code == 409
    assert late.json()["type"] == "/problems/checkin-edit-window-closed"
    assert late.json()["editable_until"] == "2026-03-02T09:30:00+00:00"
    unchanged = await change(client, ann, checkin["id"], mood=5, visibility="partner")
    assert unchanged.status_code == 200  # resending the same content is no change
    assert (await change(client, ann, checkin["id"], visibility="private")).status_code == 200
    etag = (await client.get(f"/v1/checkins/{checkin['id']}", headers=h(ann))).headers["etag"]
    too_late = await client.delete(
        f"/v1/checkins/{checkin['id']}", headers={**h(ann), "If-Match": etag}
    )
    assert too_late.status_code == 409
    assert await db.scalar(select(func.count()).select_from(CheckIn)) == 1


async def test_delete_is_for_good_and_takes_the_reflections(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    checkin = await record(client, ann, visibility="partner")
    url = f"/v1/checkins/{checkin['id']}"
    await client.post(f"{url}/reflections", json={"kind": "ask", "text": "how?"}, headers=h(bo))
    etag = (await client.get(url, headers=h(ann))).headers["etag"]
    assert (await client.delete(url, headers={**h(ann), "If-Match": etag})).status_code == 204
    assert (await client.get(url, headers=h(ann))).status_code == 404
    assert await db.scalar(select(func.count()).select_from(CheckIn)) == 0
    assert await db.scalar(select(func.count()).select_from(Reflection)) == 0
    last = await db.scalar(select(Event).order_by(Event.seq.desc()).limit(1))
    assert last is not None and last.type == "checkin.deleted"
    assert last.data == {"checkin_id": checkin["id"]}


async def test_changes_need_a_current_if_match(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    checkin = await record(client, ann)
    url = f"/v1/checkins/{checkin['id']}"
    etag = (await client.get(url, headers=h(ann))).headers["etag"]
    for method, body in (("PATCH", {"mood": 4}), ("DELETE", None)):
        missing = await client.request(method, url, json=body, headers=h(ann))
        assert missing.status_code == 428
        stale = await client.request(
            method, url, json=body, headers={**h(ann), "If-Match": '"stale"'}
        )
        assert stale.status_code == 412
    changed = await client.patch(url, json={"mood": 4}, headers={**h(ann), "If-Match": etag})
    assert changed.status_code == 200
    # The ETag the PATCH answered with is the one to use next; the old one is stale now.
    old = await client.patch(url, json={"mood": 2}, headers={**h(ann), "If-Match": etag})
    assert old.status_code == 412
    new = await client.patch(
        url, json={"mood": 2}, headers={**h(ann), "If-Match": changed.headers["etag"]}
    )
    assert new.status_code == 200


async def test_my_checkins_by_local_date_newest_first_in_pages(
    client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    ann, bo = await make_user(), await make_user()
    for day in range(5):
        clock.set(T0 + timedelta(days=day))
        await record(client, ann, mood=day + 1)
        await record(client, bo)
    page = await client.get("/v1/checkins?limit=2", headers=h(ann, READ))
    assert [c["mood"] for c in page.json()["data"]] == [5, 4]
    rest = await client.get(
        f"/v1/checkins?limit=10&cursor={page.json()['next_cursor']}", headers=h(ann, READ)
    )
    assert [c["mood"] for c in rest.json()["data"]] == [3, 2, 1]
    assert rest.json()["has_more"] is False
    ranged = await client.get("/v1/checkins?from=2026-03-02&to=2026-03-04", headers=h(ann, READ))
    assert [c["local_date"] for c in ranged.json()["data"]] == [
        "2026-03-04",
        "2026-03-03",
        "2026-03-02",
    ]
    backwards = await client.get("/v1/checkins?from=2026-03-04&to=2026-03-02", headers=h(ann))
    assert backwards.status_code == 200  # an empty range selects nothing
    assert backwards.json()["data"] == []
    for odd in ("0", "1709251200", "2026-3-1", "2026-03-01T00:00:00"):
        refused = await client.get("/v1/checkins", params={"to": odd}, headers=h(ann))
        assert refused.status_code == 422, odd
        assert refused.json()["errors"][0]["parameter"] == "to"


async def test_the_couple_list_shows_mine_and_my_partners_shared_ones(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    mine_private = await record(client, ann)
    mine_shared = await record(client, ann, visibility="partner")
    theirs_private = await record(client, bo)
    theirs_shared = await record(client, bo, visibility="partner")
    listed = await client.get("/v1/couples/me/checkins", headers=h(ann, READ))
    assert [c["id"] for c in listed.json()["data"]] == [
        theirs_shared["id"],
        mine_shared["id"],
        mine_private["id"],
    ]
    assert theirs_private["id"] not in listed.text
    alone = await client.get("/v1/couples/me/checkins", headers=h(await make_user(), READ))
    assert alone.status_code == 404
    assert alone.json()["type"] == "/problems/no-couple"


async def test_scopes_guard_checkins(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    ann = await make_user()
    checkin = await record(client, ann)
    reading = h(ann, READ)
    assert (await client.post("/v1/checkins", json={"mood": 3}, headers=reading)).status_code == 403
    assert (await client.get("/v1/checkins", headers=h(ann, WRITE))).status_code == 403
    unauthenticated = await client.get(f"/v1/checkins/{checkin['id']}")
    assert unauthenticated.status_code == 401


async def test_listing_costs_a_bounded_number_of_queries(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: Any
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    counts: list[tuple[int, int]] = []
    for _ in range(2):
        for person in (ann, bo):
            for _ in range(5):
                await record(client, person, visibility="partner")
        with count_queries() as mine:
            assert (await client.get("/v1/checkins?limit=100", headers=h(ann))).status_code == 200
        with count_queries() as couple:
            listed = await client.get("/v1/couples/me/checkins?limit=100", headers=h(ann))
            assert listed.status_code == 200
        counts.append((mine.count, couple.count))
    assert counts[0] == counts[1]  # independent of how many there are
    assert counts[0][0] <= 1 and counts[0][1] <= 1, counts


async def test_the_couple_list_pages_through_every_checkin_once(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    for person, visibility in [(ann, "private"), (bo, "partner"), (bo, "private")] * 3:
        await record(client, person, visibility=visibility)
    everything = await client.get("/v1/couples/me/checkins?limit=100", headers=h(ann))
    expected = [item["id"] for item in everything.json()["data"]]
    assert len(expected) == 6  # ann's own three, and bo's three shared ones
    seen: list[str] = []
    url = "/v1/couples/me/checkins?limit=4"
    while True:
        page = (await client.get(url, headers=h(ann))).json()
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        url = f"/v1/couples/me/checkins?limit=4&cursor={page['next_cursor']}"
    assert seen == expected
    tampered = await client.get(f"{url}x", headers=h(ann))
    assert tampered.status_code == 422
