"""Pairing: creating a couple, invites, joining, settings, leaving — and who may do what."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import CoupleMember, Event, Invite
from app.models.base import utcnow
from app.services.couples import INVITE_ALPHABET, normalise_code
from tests.conftest import MakeUser
from tests.factories import pair, start_couple

READ, WRITE = "couple:read", "couple:write"


async def test_two_people_pair_through_an_invite(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann = await make_user(display_name="Ann", timezone="Europe/Paris")
    bo = await make_user(display_name="Bo")
    created = await start_couple(client, ann)
    code = created["invite"]["code"]
    assert len(code) == 8 and set(code) <= set(INVITE_ALPHABET)
    assert created["timezone"] == "Europe/Paris"
    assert [m["display_name"] for m in created["members"]] == ["Ann"]
    assert created["pending_invite"]["id"] == created["invite"]["id"]
    assert (
        "code" not in (created["pending_invite"] or {}) or created["pending_invite"]["code"] is None
    )

    joined = await client.post(
        "/v1/couples/join",
        json={"code": f"{code[:4].lower()}-{code[4:]}"},
        headers=bo.headers(WRITE),
    )
    assert joined.status_code == 200, joined.text
    couple = joined.json()
    assert [m["display_name"] for m in couple["members"]] == ["Ann", "Bo"]
    assert couple["pending_invite"] is None

    for person in (ann, bo):
        mine = await client.get("/v1/couples/me", headers=person.headers(READ))
        assert mine.status_code == 200
        assert mine.json()["id"] == created["id"]
    types = (await db.scalars(select(Event.type).order_by(Event.seq))).all()
    assert [t for t in types if t.startswith("couple.")] == ["couple.created", "couple.joined"]
    data = await db.scalar(select(Event.data).where(Event.type == "couple.joined"))
    assert data == {}


async def test_the_invite_code_is_stored_hashed(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    created = await start_couple(client, await make_user())
    stored = await db.scalar(select(Invite.code_hash))
    assert stored is not None and created["invite"]["code"] not in stored


async def test_a_person_is_in_at_most_one_active_couple(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    await pair(client, ann, bo)
    again = await client.post("/v1/couples", headers=ann.headers(WRITE))
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/already-in-couple"
    other = await start_couple(client, cy)
    joining = await client.post(
        "/v1/couples/join", json={"code": other["invite"]["code"]}, headers=bo.headers(WRITE)
    )
    assert joining.status_code == 409


async def test_invite_codes_that_cannot_be_used(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    created = await start_couple(client, ann)
    code = created["invite"]["code"]

    own = await client.post("/v1/couples/join", json={"code": code}, headers=ann.headers(WRITE))
    assert own.status_code == 409
    assert own.json()["type"] == "/problems/own-invite"

    unknown = await client.post(
        "/v1/couples/join", json={"code": "ZZZZ-ZZZZ"}, headers=bo.headers(WRITE)
    )
    assert unknown.status_code == 404
    malformed = await client.post(
        "/v1/couples/join", json={"code": "0O1IL0O1"}, headers=bo.headers(WRITE)
    )
    assert malformed.status_code == 404

    await db.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    expired = await client.post("/v1/couples/join", json={"code": code}, headers=bo.headers(WRITE))
    assert expired.status_code == 410
    assert expired.json()["reason"] == "expired"

    fresh = await client.post("/v1/couples/me/invites", headers=ann.headers(WRITE))
    assert fresh.status_code == 201
    fresh_code = fresh.json()["code"]
    revoked = await client.delete(
        f"/v1/couples/me/invites/{fresh.json()['id']}", headers=ann.headers(WRITE)
    )
    assert revoked.status_code == 204
    withdrawn = await client.post(
        "/v1/couples/join", json={"code": fresh_code}, headers=bo.headers(WRITE)
    )
    assert withdrawn.status_code == 410
    assert withdrawn.json()["reason"] == "revoked"

    last = (await client.post("/v1/couples/me/invites", headers=ann.headers(WRITE))).json()["code"]
    assert (
        await client.post("/v1/couples/join", json={"code": last}, headers=bo.headers(WRITE))
    ).status_code == 200
    used = await client.post("/v1/couples/join", json={"code": last}, headers=cy.headers(WRITE))
    assert used.status_code == 410
    assert used.json()["reason"] == "used"
    full = await client.post("/v1/couples/me/invites", headers=ann.headers(WRITE))
    assert full.status_code == 409
    assert await db.scalar(select(func.count()).select_from(CoupleMember)) == 2


async def test_a_new_invite_replaces_the_pending_one(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    first = (await start_couple(client, ann))["invite"]["code"]
    second = (await client.post("/v1/couples/me/invites", headers=ann.headers(WRITE))).json()[
        "code"
    ]
    assert first != second
    assert (
        await client.post("/v1/couples/join", json={"code": first}, headers=bo.headers(WRITE))
    ).status_code == 410
    assert (
        await client.post("/v1/couples/join", json={"code": second}, headers=bo.headers(WRITE))
    ).status_code == 200


async def test_settings_change_needs_if_match(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    current = await client.get("/v1/couples/me", headers=ann.headers(READ))
    change = {
        "relationship_stage": "long_distance",
        "timezone": "Pacific/Kiritimati",
        "max_depth": 2,
    }
    missing = await client.patch("/v1/couples/me", json=change, headers=ann.headers(WRITE))
    assert missing.status_code == 428
    done = await client.patch(
        "/v1/couples/me",
        json=change,
        headers={**ann.headers(WRITE), "If-Match": current.headers["etag"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["relationship_stage"] == "long_distance"
    assert done.json()["max_depth"] == 2
    # Bo edits with the copy read before Ann's change: refused, nothing overwritten.
    stale = await client.patch(
        "/v1/couples/me",
        json={"max_depth": 3},
        headers={**bo.headers(WRITE), "If-Match": current.headers["etag"]},
    )
    assert stale.status_code == 412
    assert (await client.get("/v1/couples/me", headers=bo.headers(READ))).json()["max_depth"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"max_depth": 4},
        {"relationship_stage": "married"},
        {"timezone": "Nowhere/Land"},
        {"status": "ended"},
    ],
)
async def test_invalid_settings_are_refused(
    client: httpx.AsyncClient, make_user: MakeUser, change: dict[str, object]
) -> None:
    ann = await make_user()
    await start_couple(client, ann)
    etag = (await client.get("/v1/couples/me", headers=ann.headers(READ))).headers["etag"]
    response = await client.patch(
        "/v1/couples/me", json=change, headers={**ann.headers(WRITE), "If-Match": etag}
    )
    assert response.status_code == 422


async def test_leaving_ends_the_couple_for_both_and_keeps_the_rows(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    couple = await pair(client, ann, bo)
    assert (await client.post("/v1/couples/me/leave", headers=bo.headers(WRITE))).status_code == 204
    for person in (ann, bo):
        gone = await client.get("/v1/couples/me", headers=person.headers(READ))
        assert gone.status_code == 404
        assert gone.json()["type"] == "/problems/no-couple"
    assert await db.scalar(select(func.count()).select_from(CoupleMember)) == 2
    ended = await db.scalar(select(Event).where(Event.type == "couple.ended"))
    assert ended is not None and str(ended.couple_id) == couple["id"]
    assert list(ended.data) == ["ended_on"]  # the day, never a reason
    # Both are free to pair again, with each other or with someone else.
    await pair(client, ann, bo)


async def test_another_couple_and_narrow_tokens_see_nothing(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    ours = await pair(client, ann, bo)
    theirs = await start_couple(client, cy)
    assert theirs["id"] != ours["id"]
    invite_id = theirs["invite"]["id"]
    # Cy's invite is invisible to Ann: withdrawing it through Ann's couple finds nothing.
    assert (
        await client.delete(f"/v1/couples/me/invites/{invite_id}", headers=ann.headers(WRITE))
    ).status_code == 404
    assert (await client.get("/v1/couples/me", headers=cy.headers(READ))).json()["id"] == theirs[
        "id"
    ]
    assert (await client.get("/v1/couples/me", headers=ann.headers("profile"))).status_code == 403
    assert (await client.post("/v1/couples", headers=ann.headers(READ))).status_code == 403
    assert (await client.post("/v1/couples/me/leave", headers=ann.headers(READ))).status_code == 403
    assert (await client.get("/v1/couples/me")).status_code == 401


def test_codes_are_normalised() -> None:
    assert normalise_code(" abcd-efgh ") == "ABCDEFGH"
    assert normalise_code("ABCDEFG") is None
    assert normalise_code("ABCDEFG0") is None


async def test_reading_my_couple_costs_a_bounded_number_of_queries(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: object
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    headers = ann.headers(READ)
    with count_queries() as counter:  # type: ignore[operator]
        assert (await client.get("/v1/couples/me", headers=headers)).status_code == 200
    assert counter.count <= 2, counter.statements


async def test_two_people_racing_for_one_code_one_wins(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    code = (await start_couple(client, ann))["invite"]["code"]
    results = await asyncio.gather(
        client.post("/v1/couples/join", json={"code": code}, headers=bo.headers(WRITE)),
        client.post("/v1/couples/join", json={"code": code}, headers=cy.headers(WRITE)),
    )
    # The loser hears either that the code was used (410) or, when its transaction reads
    # the couple after the winner committed, that the couple is complete (409).
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200
    assert codes[1] in (409, 410)
    assert await db.scalar(select(func.count()).select_from(CoupleMember)) == 2


async def test_guessing_invite_codes_is_rate_limited(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    code = (await start_couple(client, ann))["invite"]["code"]
    for _ in range(10):
        wrong = await client.post(
            "/v1/couples/join", json={"code": "ZZZZZZZZ"}, headers=bo.headers(WRITE)
        )
        assert wrong.status_code == 404
    limited = await client.post("/v1/couples/join", json={"code": code}, headers=bo.headers(WRITE))
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["type"] == "/problems/rate-limited"
    # The limit is per person: someone else can still join other couples.
    cy, di = await make_user(), await make_user()
    other = (await start_couple(client, cy))["invite"]["code"]
    assert (
        await client.post("/v1/couples/join", json={"code": other}, headers=di.headers(WRITE))
    ).status_code == 200
