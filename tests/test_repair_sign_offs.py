"""Moves that need both partners: the first sign-off is recorded and announced (a thin
`repair_plan.signed_off` event), the second makes the move."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event
from tests.conftest import MakeUser, Person
from tests.repair_support import active_plan, get_plan, moved, refused

SYNC = "/v1/sync"


async def test_moving_on_and_completing_need_both_sign_offs(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]

    first = await moved(client, ann, pid, "advance")
    assert first["current_phase"] == "atone"  # recorded, not yet made
    assert [(s["move"], s["user_id"]) for s in first["pending_sign_offs"]] == [
        ("advance", str(ann.id))
    ]
    again = await moved(client, ann, pid, "advance")  # signing twice changes nothing
    assert len(again["pending_sign_offs"]) == 1
    assert (await get_plan(client, bo, pid))["pending_sign_offs"] == first["pending_sign_offs"]

    second = await moved(client, bo, pid, "advance")
    assert second["current_phase"] == "attune"
    assert second["pending_sign_offs"] == []
    assert [p["state"] for p in second["phases"]] == ["done", "current", "upcoming"]

    # A pause drops a pending sign-off: both sign again after resuming.
    await moved(client, bo, pid, "advance")
    await moved(client, ann, pid, "pause")
    resumed = await moved(client, ann, pid, "resume")
    assert resumed["pending_sign_offs"] == []
    await moved(client, bo, pid, "advance")
    last = await moved(client, ann, pid, "advance")
    assert last["current_phase"] == "attach"
    assert last["allowed_transitions"] == ["pause", "complete", "abandon"]
    problem = await refused(client, ann, pid, "advance")  # there is no next phase
    assert problem["allowed_transitions"] == ["pause", "complete", "abandon"]

    await moved(client, bo, pid, "complete")
    done = await moved(client, ann, pid, "complete")
    assert done["status"] == "completed"
    assert [p["state"] for p in done["phases"]] == ["done", "done", "done"]
    assert done["allowed_transitions"] == []
    events = list(await db.execute(select(Event.type, Event.data).order_by(Event.seq)))
    advanced = [d for t, d in events if t == "repair_plan.phase_advanced"]
    assert advanced == [{"plan_id": pid, "phase_index": 1}, {"plan_id": pid, "phase_index": 2}]
    assert [t for t, _ in events].count("repair_plan.completed") == 1


async def signed_off_events(db: AsyncSession) -> list[dict[str, object]]:
    await db.rollback()  # a fresh read: on SQLite an open read keeps its first snapshot
    rows = await db.execute(select(Event.type, Event.data).order_by(Event.seq))
    return [data for type_, data in rows if type_ == "repair_plan.signed_off"]


async def test_the_first_sign_off_is_announced_with_ids_only(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    await moved(client, ann, pid, "advance")
    assert await signed_off_events(db) == [{"plan_id": pid, "move": "advance"}]
    stored = await db.scalar(select(Event).where(Event.type == "repair_plan.signed_off"))
    assert stored is not None and stored.user_id == ann.id

    await moved(client, ann, pid, "advance")  # signing again announces nothing more
    await moved(client, bo, pid, "advance")  # the second sign-off makes the move instead
    assert len(await signed_off_events(db)) == 1
    await db.rollback()
    types = list(await db.scalars(select(Event.type).order_by(Event.seq)))
    assert types[-1] == "repair_plan.phase_advanced"

    await moved(client, bo, pid, "advance")
    await moved(client, ann, pid, "advance")
    await moved(client, bo, pid, "complete")
    assert [e["move"] for e in await signed_off_events(db)] == ["advance", "advance", "complete"]
    # A move one partner makes alone is no sign-off.
    await moved(client, ann, pid, "pause")
    assert len(await signed_off_events(db)) == 3


async def test_only_the_couple_hears_of_a_sign_off(
    client: httpx.AsyncClient, couple: tuple[Person, Person], make_user: MakeUser
) -> None:
    ann, bo = couple
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    outsider = await make_user()
    await moved(client, ann, pid, "advance")

    async def heard(person: Person) -> bool:
        response = await client.get(SYNC, headers=person.headers("repair:read"))
        assert response.status_code == 200, response.text
        return "repair_plan.signed_off" in response.text

    assert await heard(bo) and await heard(ann)
    assert not await heard(outsider)
