"""Fan-out asks the consent rule: an endpoint gets an event only if a person who consented to
its client could read the event's resource through that client at that moment."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.event_catalog import EVENT_TYPES
from app.delivery.dispatcher import Dispatcher
from app.models.base import utcnow
from app.models.oauth import Consent
from app.models.webhooks import DeliveryStatus, WebhookDelivery
from app.services.visibility import SUBJECTS, Subject
from tests.conftest import MakeUser, Person
from tests.conversations_support import moved, start
from tests.factories import pair
from tests.repair_support import PLANS, act, propose
from tests.rituals_support import commit, issue, mark, schedule, start_ritual, written_and_finished
from tests.webhooks_support import Partner, Receiver, grant, register, running

CHECKINS = ("checkins:read", "checkins:write")


def delivered(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests]


def types(receiver: Receiver) -> list[str]:
    return [document["type"] for document in delivered(receiver)]


async def drain(dispatcher: Dispatcher) -> None:
    while await dispatcher.run_once():
        pass


async def share(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    response = await client.post(
        "/v1/checkins", json={"mood": 4, "visibility": "partner"}, headers=person.headers(*CHECKINS)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def rate(client: httpx.AsyncClient, person: Person, plan_id: str) -> None:
    response = await client.post(
        f"{PLANS}/{plan_id}/trust-ratings",
        json={"score": 5},
        headers=person.headers("repair:read", "repair:write"),
    )
    assert response.status_code == 201, response.text


async def revoke(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person, partner: Partner
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Consent)
            .where(Consent.user_id == person.id, Consent.client_id == partner.client_id)
            .values(revoked_at=utcnow())
        )


def test_every_catalog_type_has_a_rule() -> None:
    assert set(SUBJECTS) == set(EVENT_TYPES)
    assert SUBJECTS["webhook.ping"] is Subject.direct
    for name in EVENT_TYPES:
        if name.startswith(("repair_plan.", "repair_step.", "agreement.", "trust_rating.")):
            assert SUBJECTS[name] is Subject.repair, name
        if name.startswith(("conversation.", "ritual.", "commitment.")):
            assert SUBJECTS[name] is Subject.conversation, name
        if name.startswith("activity."):
            assert SUBJECTS[name] is Subject.activity, name


async def test_a_platform_only_one_partner_connected_never_hears_of_the_couples_repair_plans(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    ann, bo = await make_user(), await make_user()
    await grant(sessionmaker, ann.id, partner.client_id, "repair:read", "checkins:read")
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url)
        await pair(client, ann, bo)
        declined = await propose(client, ann)
        assert (await act(client, bo, declined["id"], "decline")).status_code == 200
        plan = await propose(client, bo)
        assert (await act(client, ann, plan["id"], "accept")).status_code == 200
        await rate(client, bo, plan["id"])
        await share(client, ann)
        await drain(dispatcher)
        # Ann's own shared check-in reaches the app she connected; nothing about the plans
        # does, neither Bo's decline nor Bo's trust rating: the app cannot read them either.
        assert types(receiver) == ["checkin.shared"]
        hidden = await client.get(
            f"{PLANS}/{plan['id']}", headers=ann.headers("repair:read", client_id=partner.client_id)
        )
        assert hidden.status_code == 404

        await grant(sessionmaker, bo.id, partner.client_id, "repair:read")
        await rate(client, bo, plan["id"])
        await drain(dispatcher)
    assert types(receiver) == ["checkin.shared", "trust_rating.recorded"]
    rating = delivered(receiver)[1]["data"]
    assert rating["user_id"] == str(bo.id) and rating["plan_id"] == plan["id"]
    seen = await client.get(
        f"{PLANS}/{plan['id']}", headers=ann.headers("repair:read", client_id=partner.client_id)
    )
    assert seen.status_code == 200


async def test_revoking_consent_midway_stops_what_it_opened_and_only_that(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    ann, bo = await make_user(), await make_user()
    for person in (ann, bo):
        await grant(sessionmaker, person.id, partner.client_id, "repair:read", "checkins:read")
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url, event_types=list(EVENT_TYPES)[9:])
        await pair(client, ann, bo)
        plan = await propose(client, ann)
        await act(client, bo, plan["id"], "accept")
        await drain(dispatcher)
        assert types(receiver) == ["repair_plan.proposed", "repair_plan.accepted"]

        await revoke(sessionmaker, bo, partner)
        await rate(client, ann, plan["id"])
        await rate(client, bo, plan["id"])
        await share(client, bo)  # Bo's check-in: Ann (still consenting) can read it
        await share(client, ann)
        await drain(dispatcher)
    # Both trust ratings are gone for the app (repair needs both consents); the check-ins
    # still flow through Ann's consent, Bo's too because Ann may read it.
    assert types(receiver)[2:] == ["checkin.shared", "checkin.shared"]


async def test_a_conversation_reaches_a_platform_only_once_both_partners_allowed_it(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    ann, bo = await make_user(), await make_user()
    await grant(sessionmaker, ann.id, partner.client_id, "conversations:read")
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url)
        await pair(client, ann, bo)
        talk = await start(client, ann, topic="the holidays")
        await moved(client, ann, talk["id"], "share", "I want a quiet one")
        await drain(dispatcher)
        assert types(receiver) == []  # only Ann allowed it: the app cannot read it either
        await grant(sessionmaker, bo.id, partner.client_id, "conversations:read")
        await moved(client, bo, talk["id"], "paraphrase", "You want calm")
        await moved(client, ann, talk["id"], "end")
        await drain(dispatcher)
    assert types(receiver) == ["conversation.moved", "conversation.ended"]
    moved_data = delivered(receiver)[0]["data"]
    assert moved_data["conversation_id"] == talk["id"] and moved_data["move"] == "paraphrase"
    assert moved_data["phase"] == "awaiting_confirmation"
    assert "calm" not in json.dumps(delivered(receiver))  # ids, moves and phases only


async def test_a_weekly_ritual_reaches_a_platform_only_once_both_partners_allowed_it(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    ann, bo = await make_user(), await make_user()
    await grant(sessionmaker, ann.id, partner.client_id, "conversations:read")
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url)
        await pair(client, ann, bo)
        assert (await schedule(client, ann)).status_code == 201
        rid = (await start_ritual(client, ann))["id"]
        await written_and_finished(client, ann, rid, "appreciations", "I love your laugh")
        await drain(dispatcher)
        assert types(receiver) == []  # only Ann allowed it: the app cannot read it either
        await grant(sessionmaker, bo.id, partner.client_id, "conversations:read")
        await written_and_finished(client, ann, rid, "went_well", "our Sunday walk")
        assert (await issue(client, ann, rid, skip=True)).status_code == 200
        made = await commit(client, ann, rid, "cook on Tuesday")
        assert (await mark(client, ann, made.json()["id"])).status_code == 200
        await drain(dispatcher)
    assert types(receiver) == [
        "ritual.step_finished",
        "ritual.step_finished",
        "commitment.added",
        "commitment.done",
    ]
    documents = delivered(receiver)
    assert documents[0]["data"]["ritual_id"] == rid and documents[0]["data"]["step"] == "went_well"
    assert documents[1]["data"]["step"] == "issue"
    assert set(documents[3]["data"]) >= {"ritual_id", "commitment_id"}
    text = json.dumps(documents)
    assert "walk" not in text and "Tuesday" not in text and "laugh" not in text  # ids only


async def test_an_ended_couple_stops_the_partners_things_but_tells_both_it_ended(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    ann, bo = await make_user(), await make_user()
    await grant(sessionmaker, ann.id, partner.client_id, "checkins:read", "couple:read")
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url)
        await pair(client, ann, bo)
        shared = await share(client, bo)
        await drain(dispatcher)
        assert types(receiver) == ["couple.created", "couple.joined", "checkin.shared"]
        left = await client.post("/v1/couples/me/leave", headers=bo.headers("couple:write"))
        assert left.status_code == 204
        # Bo edits the check-in after the end: Ann can no longer read it, nor can her app.
        current = await client.get(f"/v1/checkins/{shared['id']}", headers=bo.headers(*CHECKINS))
        edited = await client.patch(
            f"/v1/checkins/{shared['id']}",
            json={"mood": 2},
            headers={**bo.headers(*CHECKINS), "If-Match": current.headers["etag"]},
        )
        assert edited.status_code == 200, edited.text
        await drain(dispatcher)
        gone = await client.get(
            f"/v1/checkins/{shared['id']}",
            headers=ann.headers("checkins:read", client_id=partner.client_id),
        )
        assert gone.status_code == 404
    assert types(receiver)[3:] == ["couple.ended"]


async def test_a_disabled_endpoint_records_skipped_deliveries_that_a_replay_sends(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    db: AsyncSession,
) -> None:
    ann = await make_user()
    await grant(sessionmaker, ann.id, partner.client_id, "profile")
    receiver = Receiver()
    async with running(receiver):
        endpoint = await register(client, partner, receiver.url, enabled=False)
        renamed = await client.patch(
            "/v1/me", json={"display_name": "Ann A."}, headers=ann.headers("profile")
        )
        assert renamed.status_code == 200, renamed.text
        await drain(dispatcher)
        assert receiver.requests == []
        statuses = await db.scalars(select(WebhookDelivery.status))
        assert list(statuses) == [DeliveryStatus.skipped]
        listed = await client.get(
            f"/v1/webhooks/endpoints/{endpoint['id']}/deliveries?status=skipped",
            headers=partner.headers(),
        )
        assert [d["event_type"] for d in listed.json()["data"]] == ["user.updated"]

        enabled = await client.patch(
            f"/v1/webhooks/endpoints/{endpoint['id']}",
            json={"enabled": True},
            headers=partner.headers(),
        )
        assert enabled.status_code == 200, enabled.text
        replayed = await client.post(
            f"/v1/webhooks/endpoints/{endpoint['id']}/replay",
            json={"since": "2000-01-01T00:00:00Z"},
            headers=partner.headers(),
        )
        assert replayed.json() == {"requeued": 1}
        await drain(dispatcher)
    assert types(receiver) == ["user.updated"]


async def test_an_account_deletion_reaches_the_apps_the_person_connected(
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    """`user.deleted` reaches the apps the person connected, so they can delete what they
    keep about them; the partner's leaving-side event is the neutral `couple.ended`."""
    ann, bo = await make_user(), await make_user()
    await grant(sessionmaker, ann.id, partner.client_id, "profile", "couple:read")
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url)
        await pair(client, ann, bo)
        await drain(dispatcher)
        receiver.requests.clear()
        deleted = await client.request(
            "DELETE", "/v1/me", json={"password": ann.password}, headers=ann.headers("profile")
        )
        assert deleted.status_code == 202, deleted.text
        await drain(dispatcher)
    sent = {document["type"]: document["data"] for document in delivered(receiver)}
    assert set(sent) == {"couple.ended", "user.deleted"}
    assert sent["user.deleted"]["user_id"] == str(ann.id)
