"""Repair plans through HTTP with real tokens: proposing, the state machine move by move
(legal and illegal, by the right and the wrong partner), sign-offs, privacy, isolation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event, PlanStatus
from app.services.repair_plans import MACHINE
from tests.conftest import MakeUser, Person
from tests.factories import pair, start_couple
from tests.repair_support import (
    PLANS,
    act,
    active_plan,
    get_plan,
    h,
    moved,
    propose,
    refused,
)

MOVES = ("accept", "decline", "pause", "resume", "advance", "complete", "abandon")


async def test_a_blank_plan_is_proposed_and_needs_the_other_partners_consent(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    plan = await propose(client, ann, title="After the argument", hurt_user_id=str(bo.id))
    assert plan["status"] == "proposed"
    assert plan["title"] == "After the argument"
    assert plan["roles"] == {
        "mutual": False,
        "hurt_user_id": str(bo.id),
        "involved_user_id": str(ann.id),
    }
    assert [p["key"] for p in plan["phases"]] == ["atone", "attune", "attach"]
    assert [p["state"] for p in plan["phases"]] == ["current", "upcoming", "upcoming"]
    assert plan["current_phase"] == "atone"
    assert plan["steps"] == [] and plan["agreements"] == []
    assert plan["template_id"] is None
    # The proposer can only withdraw; the other partner decides.
    assert plan["allowed_transitions"] == ["abandon"]
    seen_by_bo = await get_plan(client, bo, plan["id"])
    assert seen_by_bo["allowed_transitions"] == ["accept", "decline", "abandon"]

    problem = await refused(client, ann, plan["id"], "accept")
    assert problem["current_status"] == "proposed"
    assert problem["allowed_transitions"] == ["abandon"]
    assert (await get_plan(client, ann, plan["id"]))["status"] == "proposed"

    accepted = await moved(client, bo, plan["id"], "accept")
    assert accepted["status"] == "active"
    assert accepted["accepted_at"] is not None
    listed = (await client.get(PLANS, headers=h(ann))).json()
    assert [p["id"] for p in listed["data"]] == [plan["id"]]
    events = list(await db.execute(select(Event.type, Event.data).order_by(Event.seq)))
    repair = [(t, d) for t, d in events if t.startswith("repair_plan.")]
    assert repair == [
        ("repair_plan.proposed", {"plan_id": plan["id"], "template_id": None}),
        ("repair_plan.accepted", {"plan_id": plan["id"]}),
    ]


async def test_a_plan_from_a_template_copies_it_at_its_published_version(
    client: httpx.AsyncClient, couple: tuple[Person, Person], templates: None
) -> None:
    ann, bo = couple
    listed = (await client.get("/v1/repair-templates", headers=h(ann, "repair:read"))).json()
    assert [t["slug"] for t in listed["data"]] == [
        "after-a-broken-promise",
        "after-hurtful-words",
        "after-secrecy-or-betrayal",
    ]
    template = next(t for t in listed["data"] if t["slug"] == "after-a-broken-promise")
    plan = await propose(client, bo, template="after-a-broken-promise", hurt_user_id=str(ann.id))
    assert plan["template_id"] == template["id"]
    assert plan["template_version"] == 1
    assert plan["title"] == template["title"]
    suggested = [s for phase in template["phases"] for s in phase["steps"]]
    assert [(s["title"], s["owner"]) for s in plan["steps"]] == [
        (s["title"], s["owner"]) for s in suggested
    ]
    owners = {s["owner"]: s["owner_user_id"] for s in plan["steps"]}
    assert owners == {"hurt": str(ann.id), "involved": str(bo.id), "both": None}
    texts = [a for phase in template["phases"] for a in phase["agreements"]]
    assert [a["text"] for a in plan["agreements"]] == texts
    assert all(a["status"] == "pending" and a["signed_by"] == [] for a in plan["agreements"])

    # A mutual template fits only a mutual plan, and the other way round.
    wrong = await client.post(
        PLANS,
        json={"template": "after-hurtful-words", "hurt_user_id": str(ann.id)},
        headers=h(ann),
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["pointer"] == "#/mutual"


async def test_proposals_that_cannot_be(
    client: httpx.AsyncClient, couple: tuple[Person, Person], make_user: MakeUser
) -> None:
    ann, bo = couple
    unknown = await client.post(
        PLANS, json={"template": "no-such-template", "mutual": True}, headers=h(ann)
    )
    assert unknown.status_code == 404  # a slug the server does not know, like an unknown id
    assert unknown.json()["type"] == "/problems/repair-template-not-found"
    assert unknown.json()["errors"][0]["pointer"] == "#/template"
    stranger = await make_user()
    outsider = await client.post(PLANS, json={"hurt_user_id": str(stranger.id)}, headers=h(ann))
    assert outsider.status_code == 404
    assert outsider.json()["type"] == "/problems/partner-not-found"
    neither = await client.post(PLANS, json={}, headers=h(ann))
    assert neither.status_code == 422
    both = await client.post(
        PLANS, json={"mutual": True, "hurt_user_id": str(ann.id)}, headers=h(ann)
    )
    assert both.status_code == 422

    first = await propose(client, ann, mutual=True)
    assert first["roles"] == {"mutual": True, "hurt_user_id": None, "involved_user_id": None}
    second = await client.post(PLANS, json={"mutual": True}, headers=h(bo))
    assert second.status_code == 409
    assert second.json()["type"] == "/problems/repair-plan-already-open"
    # Once the open plan ends, a new one can be proposed.
    await moved(client, bo, first["id"], "decline")
    await propose(client, bo, mutual=True)

    alone = await make_user()
    await start_couple(client, alone)
    lonely = await client.post(PLANS, json={"mutual": True}, headers=h(alone))
    assert lonely.status_code == 409
    assert lonely.json()["type"] == "/problems/repair-plan-needs-partner"


@pytest.mark.slow
async def test_every_move_from_every_status_by_each_partner(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    """Walk the plan into each status and try every move there, by both partners: exactly
    the moves of the table are allowed, and only for the partner the table names."""
    ann, bo = couple

    async def plan_in(status: str) -> str:
        plan = await propose(client, ann, hurt_user_id=str(bo.id))
        pid: str = plan["id"]
        if status == "proposed":
            return pid
        if status == "declined":
            await moved(client, bo, pid, "decline")
            return pid
        if status == "abandoned":
            await moved(client, ann, pid, "abandon")
            return pid
        await moved(client, bo, pid, "accept")
        if status == "paused":
            await moved(client, bo, pid, "pause")
        if status == "completed":
            for move in ("advance", "advance", "complete"):
                await moved(client, ann, pid, move)
                await moved(client, bo, pid, move)
        return pid

    expected = {
        # status: (moves for Ann, who proposed; moves for Bo)
        "proposed": (["abandon"], ["accept", "decline", "abandon"]),
        "active": (["pause", "advance", "abandon"], ["pause", "advance", "abandon"]),
        "paused": (["resume", "abandon"], ["resume", "abandon"]),
        "declined": ([], []),
        "completed": ([], []),
        "abandoned": ([], []),
    }
    assert set(expected) == {status.value for status in MACHINE}
    for status, (for_ann, for_bo) in expected.items():
        pid = await plan_in(status)
        for person, allowed in ((ann, for_ann), (bo, for_bo)):
            seen = await get_plan(client, person, pid)
            assert seen["status"] == status
            assert seen["allowed_transitions"] == allowed, (status, person.user.display_name)
            for move in MOVES:
                if move in allowed:
                    continue
                problem = await refused(client, person, pid, move)
                assert problem["current_status"] == status
                assert problem["allowed_transitions"] == allowed
            assert (await get_plan(client, person, pid))["status"] == status
        if status not in ("declined", "completed", "abandoned"):
            await moved(client, ann, pid, "abandon")  # one open plan at a time


async def test_pause_resume_and_abandon_by_either_partner(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    plan = await active_plan(client, ann, bo, hurt_user_id=str(ann.id))
    pid = plan["id"]
    paused = await moved(client, ann, pid, "pause")
    assert paused["status"] == "paused" and paused["paused_at"] is not None
    resumed = await moved(client, bo, pid, "resume")
    assert resumed["status"] == "active" and resumed["paused_at"] is None
    await moved(client, bo, pid, "pause")
    await moved(client, ann, pid, "resume")
    ended = await moved(client, bo, pid, "abandon")
    assert ended["status"] == "abandoned"
    assert ended["ended_at"] is not None
    types = [t for t in await db.scalars(select(Event.type).order_by(Event.seq))]
    assert [t for t in types if t.startswith("repair_plan.")] == [
        "repair_plan.proposed",
        "repair_plan.accepted",
        "repair_plan.paused",
        "repair_plan.resumed",
        "repair_plan.paused",
        "repair_plan.resumed",
        "repair_plan.abandoned",
    ]


async def test_a_decline_note_is_seen_by_its_author_alone(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    pid = (await propose(client, ann, hurt_user_id=str(bo.id)))["id"]
    note = "I am not ready to talk about this yet"
    declined = await moved(client, bo, pid, "decline", note=note)
    assert declined["status"] == "declined"
    assert declined["decline_note"] == note
    assert (await get_plan(client, bo, pid))["decline_note"] == note
    seen_by_ann = await client.get(f"{PLANS}/{pid}", headers=h(ann))
    assert seen_by_ann.json()["decline_note"] is None
    assert seen_by_ann.json()["declined_by"] == str(bo.id)
    assert note not in seen_by_ann.text
    assert note not in (await client.get(PLANS, headers=h(ann))).text
    for data in await db.scalars(select(Event.data)):
        assert note not in str(data)


async def test_another_couple_and_narrow_tokens_see_nothing(
    client: httpx.AsyncClient, couple: tuple[Person, Person], make_user: MakeUser
) -> None:
    ann, bo = couple
    cy, di = await make_user(), await make_user()
    await pair(client, cy, di)
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    assert (await client.get(f"{PLANS}/{pid}", headers=h(cy))).status_code == 404
    assert (await client.get(PLANS, headers=h(cy))).json()["data"] == []
    for move in MOVES:
        response = await act(client, cy, pid, move)
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/repair-plan-not-found"
    assert (await client.get(f"{PLANS}/{pid}/trust-ratings", headers=h(di))).status_code == 404
    rating = await client.post(f"{PLANS}/{pid}/trust-ratings", json={"score": 3}, headers=h(di))
    assert rating.status_code == 404
    assert (await client.get(f"{PLANS}/{pid}", headers=h(ann, "couple:read"))).status_code == 403
    assert (await act(client, bo, pid, "pause")).status_code == 200
    read_only = await client.post(f"{PLANS}/{pid}/resume", headers=h(bo, "repair:read"))
    assert read_only.status_code == 403
    assert (await client.get(f"{PLANS}/{pid}")).status_code == 401


async def test_a_move_with_a_stale_if_match_is_refused(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, bo = couple
    pid = (await propose(client, ann, mutual=True))["id"]
    etag = (await client.get(f"{PLANS}/{pid}", headers=h(bo))).headers["ETag"]
    await moved(client, ann, pid, "abandon")
    stale = await client.post(f"{PLANS}/{pid}/accept", headers={**h(bo), "If-Match": etag})
    assert stale.status_code == 412


def test_the_table_covers_every_status_and_every_move() -> None:
    assert set(MACHINE) == set(PlanStatus)
    assert {move for moves in MACHINE.values() for move in moves} == set(MOVES)
    ended = {status for status, moves in MACHINE.items() if not moves}
    assert ended == {PlanStatus.declined, PlanStatus.completed, PlanStatus.abandoned}


async def test_both_partners_signing_off_at_once_moves_the_plan_once(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, bo = couple
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    results = await asyncio.gather(
        act(client, ann, pid, "advance"), act(client, bo, pid, "advance")
    )
    assert [r.status_code for r in results] == [200, 200]
    plan = await get_plan(client, ann, pid)
    assert plan["current_phase"] == "attune"
    assert plan["pending_sign_offs"] == []


async def test_reading_a_plan_costs_a_bounded_number_of_queries(
    client: httpx.AsyncClient, couple: tuple[Person, Person], templates: None, count_queries: Any
) -> None:
    ann, bo = couple
    plan = await active_plan(client, ann, bo, template="after-hurtful-words", mutual=True)
    headers = h(ann)
    with count_queries() as counter:
        response = await client.get(f"{PLANS}/{plan['id']}", headers=headers)
    assert response.status_code == 200
    assert len(response.json()["steps"]) == 12
    # couple, members, plan, sign-offs, steps, confirmations, agreements, versions, signatures
    assert counter.count <= 9, counter.statements


async def test_leaving_the_couple_abandons_its_open_plan(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    from app.models import RepairPlan

    ann, bo = couple
    plan = await active_plan(client, ann, bo, title="After the argument")
    left = await client.post("/v1/couples/me/leave", headers=bo.headers("couple:write"))
    assert left.status_code == 204
    stored = await db.scalar(select(RepairPlan).where(RepairPlan.id == uuid.UUID(plan["id"])))
    assert stored is not None
    assert stored.status is PlanStatus.abandoned
    assert stored.open_couple_id is None
    types = list(await db.scalars(select(Event.type).order_by(Event.seq)))
    assert types[-2:] == ["repair_plan.abandoned", "couple.ended"]
