"""Steps and agreements of a repair plan: owners, a `both` step needing two confirmations,
edits with If-Match, reordering, agreement versions and re-signing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event
from tests.conftest import Person
from tests.repair_support import PLANS, active_plan, h, moved, propose


async def add_step(
    client: httpx.AsyncClient, person: Person, plan_id: str, **body: Any
) -> httpx.Response:
    body = {"title": "Write a letter", "owner": "both", **body}
    return await client.post(f"{PLANS}/{plan_id}/steps", json=body, headers=h(person))


async def complete(
    client: httpx.AsyncClient, person: Person, plan_id: str, step_id: str
) -> httpx.Response:
    return await client.post(f"{PLANS}/{plan_id}/steps/{step_id}/complete", headers=h(person))


async def test_a_both_step_is_done_once_each_partner_confirmed(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    created = await add_step(client, ann, pid, due_date="2026-12-24")
    assert created.status_code == 201, created.text
    step = created.json()
    assert step["phase"] == "atone"
    assert step["owner"] == "both" and step["owner_user_id"] is None
    assert step["status"] == "open" and step["due_date"] == "2026-12-24"

    first = (await complete(client, ann, pid, step["id"])).json()
    assert first["status"] == "open"
    assert first["confirmed_by"] == [str(ann.id)]
    again = (await complete(client, ann, pid, step["id"])).json()
    assert again["confirmed_by"] == [str(ann.id)]
    assert not list(await db.scalars(select(Event).where(Event.type == "repair_step.completed")))
    await db.rollback()  # end the read snapshot, to see what the app writes next

    done = (await complete(client, bo, pid, step["id"])).json()
    assert done["status"] == "done"
    assert done["confirmed_by"] == [str(ann.id), str(bo.id)]
    assert done["completed_at"] is not None
    data = await db.scalar(select(Event.data).where(Event.type == "repair_step.completed"))
    assert data == {"plan_id": pid, "step_id": step["id"]}


async def test_the_owner_completes_their_own_step(
    client: httpx.AsyncClient, couple: tuple[Person, Person], templates: None
) -> None:
    ann, bo = couple
    plan = await active_plan(
        client, ann, bo, template="after-a-broken-promise", hurt_user_id=str(bo.id)
    )
    pid = plan["id"]
    involved = next(s for s in plan["steps"] if s["owner"] == "involved")
    hurt = next(s for s in plan["steps"] if s["owner"] == "hurt")
    assert involved["owner_user_id"] == str(ann.id)
    refused = await complete(client, bo, pid, involved["id"])
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/not-step-owner"
    assert (await complete(client, ann, pid, involved["id"])).json()["status"] == "done"
    assert (await complete(client, ann, pid, hurt["id"])).status_code == 403
    assert (await complete(client, bo, pid, hurt["id"])).json()["status"] == "done"


async def test_steps_change_only_while_the_plan_is_active(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, bo = couple
    proposed = await propose(client, ann, hurt_user_id=str(bo.id))
    early = await add_step(client, ann, proposed["id"])
    assert early.status_code == 409
    assert early.json()["type"] == "/problems/repair-plan-not-active"
    assert early.json()["current_status"] == "proposed"
    pid = (await moved(client, bo, proposed["id"], "accept"))["id"]
    step = (await add_step(client, bo, pid)).json()
    await moved(client, ann, pid, "pause")
    paused = await complete(client, ann, pid, step["id"])
    assert paused.status_code == 409
    await moved(client, ann, pid, "resume")
    assert (await complete(client, ann, pid, step["id"])).status_code == 200


async def test_steps_are_edited_with_if_match_and_must_fit_the_plan(
    client: httpx.AsyncClient, couple: tuple[Person, Person]
) -> None:
    ann, bo = couple
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    step = (await add_step(client, ann, pid, due_date="2026-12-24")).json()
    url = f"{PLANS}/{pid}/steps/{step['id']}"
    current = await client.get(url, headers=h(bo))
    assert current.status_code == 200
    etag = current.headers["ETag"]
    assert (await client.patch(url, json={"title": "x"}, headers=h(bo))).status_code == 428
    changed = await client.patch(
        url,
        json={"title": "Write a letter to each other", "phase": "attune", "due_date": None},
        headers={**h(bo), "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["phase"] == "attune"
    assert changed.json()["due_date"] is None
    stale = await client.patch(url, json={"title": "y"}, headers={**h(ann), "If-Match": etag})
    assert stale.status_code == 412

    fresh = (await client.get(url, headers=h(ann))).headers["ETag"]
    misfit = await client.patch(
        url, json={"owner": "hurt", "phase": "nowhere"}, headers={**h(ann), "If-Match": fresh}
    )
    assert misfit.status_code == 422
    assert {e["pointer"] for e in misfit.json()["errors"]} == {"#/owner", "#/phase"}
    assert (await add_step(client, ann, pid, owner="involved")).status_code == 422

    await complete(client, ann, pid, step["id"])
    await complete(client, bo, pid, step["id"])
    done = await client.get(url, headers=h(ann))
    locked = await client.patch(
        url, json={"title": "z"}, headers={**h(ann), "If-Match": done.headers["ETag"]}
    )
    assert locked.status_code == 409
    assert locked.json()["type"] == "/problems/repair-step-done"


async def test_steps_are_reordered(
    client: httpx.AsyncClient, couple: tuple[Person, Person], templates: None
) -> None:
    ann, bo = couple
    plan = await active_plan(client, ann, bo, template="after-hurtful-words", mutual=True)
    pid = plan["id"]
    ids = [s["id"] for s in plan["steps"]]
    assert [s["position"] for s in plan["steps"]] == list(range(len(ids)))
    new_order = [*ids[1:], ids[0]]
    response = await client.put(
        f"{PLANS}/{pid}/steps/order", json={"step_ids": new_order}, headers=h(bo)
    )
    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()] == new_order
    seen = await client.get(f"{PLANS}/{pid}", headers=h(ann))
    assert [s["id"] for s in seen.json()["steps"]] == new_order
    added = (await add_step(client, ann, pid)).json()
    assert added["position"] == len(ids)
    for wrong in (ids, [*new_order, new_order[0]], new_order[:-1]):
        refused = await client.put(
            f"{PLANS}/{pid}/steps/order", json={"step_ids": wrong}, headers=h(bo)
        )
        assert refused.status_code == 422


async def test_agreements_are_in_force_once_both_signed_and_each_change_is_signed_anew(
    client: httpx.AsyncClient, couple: tuple[Person, Person], db: AsyncSession
) -> None:
    ann, bo = couple
    pid = (await active_plan(client, ann, bo, hurt_user_id=str(ann.id)))["id"]
    created = await client.post(
        f"{PLANS}/{pid}/agreements",
        json={"text": "We check in every Sunday evening.", "phase": "attach"},
        headers=h(ann),
    )
    assert created.status_code == 201, created.text
    agreement = created.json()
    aid = agreement["id"]
    assert agreement["status"] == "pending"
    assert agreement["signed_by"] == [str(ann.id)]  # proposing it is signing it
    assert agreement["in_force_version"] is None
    url = f"{PLANS}/{pid}/agreements/{aid}"

    signed = await client.post(f"{url}/sign", json={"version": 1}, headers=h(bo))
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "in_force"
    assert signed.json()["in_force_version"] == 1

    current = await client.get(url, headers=h(bo))
    changed = await client.patch(
        url,
        json={"text": "We check in every Sunday, phones away."},
        headers={**h(bo), "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["version"] == 2 and body["status"] == "pending"
    assert body["signed_by"] == [str(bo.id)]
    # The wording both signed stays in force until the new one is signed by both.
    assert body["in_force_version"] == 1
    assert body["in_force_text"] == "We check in every Sunday evening."

    stale = await client.post(f"{url}/sign", json={"version": 1}, headers=h(ann))
    assert stale.status_code == 409
    assert stale.json()["type"] == "/problems/repair-agreement-changed"
    assert stale.json()["current_version"] == 2
    resigned = (await client.post(f"{url}/sign", json={"version": 2}, headers=h(ann))).json()
    assert resigned["status"] == "in_force"
    assert resigned["in_force_version"] == 2
    assert resigned["in_force_text"] == "We check in every Sunday, phones away."
    history = [
        (v["number"], sorted(s["user_id"] for s in v["signatures"]), v["in_force_at"] is not None)
        for v in resigned["versions"]
    ]
    both = sorted([str(ann.id), str(bo.id)])
    assert history == [(1, both, True), (2, both, True)]
    twice = (await client.post(f"{url}/sign", json={"version": 2}, headers=h(ann))).json()
    assert twice["versions"] == resigned["versions"]

    no_if_match = await client.patch(url, json={"text": "Other words."}, headers=h(ann))
    assert no_if_match.status_code == 428
    events = list(
        await db.scalars(
            select(Event.data).where(Event.type == "agreement.signed").order_by(Event.seq)
        )
    )
    assert [(e["version"], e["in_force"]) for e in events] == [
        (1, False),
        (1, True),
        (2, False),
        (2, True),
    ]
    assert all(set(e) == {"plan_id", "agreement_id", "version", "in_force"} for e in events)


async def test_template_agreements_start_unsigned(
    client: httpx.AsyncClient, couple: tuple[Person, Person], templates: None
) -> None:
    ann, bo = couple
    plan = await active_plan(client, ann, bo, template="after-hurtful-words", mutual=True)
    first = plan["agreements"][0]
    url = f"{PLANS}/{plan['id']}/agreements/{first['id']}"
    one = (await client.post(f"{url}/sign", json={"version": 1}, headers=h(ann))).json()
    assert one["status"] == "pending" and one["signed_by"] == [str(ann.id)]
    two = (await client.post(f"{url}/sign", json={"version": 1}, headers=h(bo))).json()
    assert two["status"] == "in_force"
