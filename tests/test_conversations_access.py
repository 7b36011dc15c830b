"""Who must not see or change a couple's conversations: a stranger, a member of another
couple, an ex-partner, a token without the scopes, and an app without both partners'
consent; and the consent rule that webhooks and the sync feed share."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.models import Consent, Event
from app.models.base import utcnow
from app.services.visibility import SUBJECTS, Facts, Subject, Viewer, can_see
from tests.conftest import MakeUser, Person
from tests.conversations_support import (
    CONVERSATIONS,
    THERAPIST,
    act,
    grant,
    h,
    moved,
    register_therapist,
    start,
)
from tests.factories import pair


async def _reads(client: httpx.AsyncClient, headers: dict[str, str], cid: str) -> list[int]:
    return [
        (await client.get(path, headers=headers)).status_code
        for path in (CONVERSATIONS, f"{CONVERSATIONS}/{cid}", f"{CONVERSATIONS}/{cid}/turns")
    ]


async def _writes(client: httpx.AsyncClient, headers: dict[str, str], cid: str) -> list[int]:
    moving = await client.post(
        f"{CONVERSATIONS}/{cid}/moves", json={"move": "end"}, headers=headers
    )
    starting = await client.post(CONVERSATIONS, json={}, headers=headers)
    return [moving.status_code, starting.status_code]


async def _session(client: httpx.AsyncClient, make_user: MakeUser) -> tuple[Person, Person, str]:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    cid = (await start(client, ann, topic="just us"))["id"]
    await moved(client, ann, cid, "share", "only for Bo")
    return ann, bo, cid


async def test_strangers_and_other_couples_find_nothing(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, cid = await _session(client, make_user)
    stranger = await make_user()
    cy, dee = await make_user(), await make_user()
    await pair(client, cy, dee)
    their = (await start(client, cy))["id"]

    assert await _reads(client, h(stranger), cid) == [404, 404, 404]
    assert await _writes(client, h(stranger), cid) == [404, 404]
    assert (await client.get(CONVERSATIONS, headers=h(stranger))).json()["type"] == (
        "/problems/no-couple"
    )
    # Another couple's member: the list holds only their own; ours does not exist for them.
    listed = (await client.get(CONVERSATIONS, headers=h(cy))).json()["data"]
    assert [c["id"] for c in listed] == [their]
    hidden = await client.get(f"{CONVERSATIONS}/{cid}", headers=h(cy))
    assert hidden.status_code == 404
    assert hidden.json()["type"] == "/problems/conversation-not-found"
    refused = await act(client, cy, cid, "paraphrase", "I heard")
    assert refused.status_code == 404
    # ... and we cannot reach theirs either.
    assert (await client.get(f"{CONVERSATIONS}/{their}", headers=h(ann))).status_code == 404
    assert (await act(client, bo, their, "share", "hello")).status_code == 404
    mine = (await client.get(f"{CONVERSATIONS}/{cid}", headers=h(bo))).json()
    assert mine["turn_count"] == 1


async def test_tokens_need_the_scopes(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    _ann, bo, cid = await _session(client, make_user)
    nothing = h(bo, "couple:read", "repair:read", "repair:write")
    assert await _reads(client, nothing, cid) == [403, 403, 403]
    assert await _writes(client, nothing, cid) == [403, 403]
    reading = h(bo, "conversations:read")
    assert await _reads(client, reading, cid) == [200, 200, 200]
    assert await _writes(client, reading, cid) == [403, 403]
    problem = (await client.get(CONVERSATIONS, headers=nothing)).json()
    assert problem["type"] == "/problems/insufficient-scope"
    unsigned = await client.get(CONVERSATIONS)
    assert unsigned.status_code == 401
    assert (await client.get(f"{CONVERSATIONS}/{cid}", headers=h(bo))).json()["turn_count"] == 1


async def test_a_third_party_app_needs_both_partners_consent(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, cid = await _session(client, make_user)
    await register_therapist(app)

    def via(person: Person) -> dict[str, str]:
        return h(person, client_id=THERAPIST)

    assert await _reads(client, via(ann), cid) == [404, 404, 404]
    assert await _writes(client, via(ann), cid) == [404, 404]
    hidden = (await client.get(CONVERSATIONS, headers=via(ann))).json()
    assert hidden["type"] == "/problems/conversations-not-found"
    await grant(app, ann)
    assert await _reads(client, via(ann), cid) == [404, 404, 404]
    await grant(app, bo, "conversations:read")  # read, not write
    assert await _reads(client, via(ann), cid) == [200, 200, 200]
    assert (await act(client, bo, cid, "paraphrase", "heard", **via(bo))).status_code == 404
    assert (await client.get(f"{CONVERSATIONS}/{cid}", headers=via(bo))).status_code == 200

    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Consent).where(Consent.user_id == bo.id).values(revoked_at=utcnow())
        )
    assert await _reads(client, via(ann), cid) == [404, 404, 404]
    assert (await client.get(f"{CONVERSATIONS}/{cid}", headers=h(ann))).status_code == 200


async def test_an_ex_partner_sees_none_of_it(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, cid = await _session(client, make_user)
    left = await client.post("/v1/couples/me/leave", headers=bo.headers("couple:write"))
    assert left.status_code in (200, 204), left.text
    for person in (ann, bo):
        assert await _reads(client, h(person), cid) == [404, 404, 404]
        assert (await act(client, person, cid, "end")).status_code == 404


def _event(type: str, couple_id: uuid.UUID, user_id: uuid.UUID) -> Event:
    return Event(
        type=type, couple_id=couple_id, user_id=user_id, data={"conversation_id": "x", "seq": 1}
    )


def test_webhooks_and_sync_ask_both_partners_consent_with_the_read_scope() -> None:
    ann, bo, couple = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert {SUBJECTS[name] for name in SUBJECTS if name.startswith("conversation.")} == {
        Subject.conversation
    }
    read = frozenset({"conversations:read"})
    facts = Facts(active_members={couple: {ann, bo}}, ever_members={couple: {ann, bo}})
    event = _event("conversation.moved", couple, bo)
    third_party = Viewer("talk-space", ann, read)
    assert not can_see(third_party, event, facts)  # only Ann consented
    facts.consents[(ann, "talk-space")] = read
    facts.consents[(bo, "talk-space")] = frozenset({"repair:read"})
    assert not can_see(third_party, event, facts)  # Bo's consent lacks the scope
    facts.consents[(bo, "talk-space")] = read
    assert can_see(third_party, event, facts)
    assert not can_see(Viewer("talk-space", ann, frozenset({"repair:read"})), event, facts)
    assert can_see(Viewer("rapport-mobile", bo, read, first_party=True), event, facts)
    stranger = Viewer("rapport-mobile", uuid.uuid4(), read, first_party=True)
    assert not can_see(stranger, event, facts)
    facts.active_members[couple] = {ann}  # Bo left: neither he nor the app sees it now
    assert not can_see(Viewer("rapport-mobile", bo, read, first_party=True), event, facts)
    assert not can_see(third_party, event, facts)


async def test_the_sync_feed_carries_the_moves_to_both_partners_and_nobody_else(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, cid = await _session(client, make_user)
    await moved(client, bo, cid, "paraphrase", "what Bo heard")
    stranger = await make_user()
    await register_therapist(app)
    await grant(app, ann)

    async def feed(headers: dict[str, str]) -> list[dict[str, object]]:
        response = await client.get("/v1/sync", headers=headers)
        assert response.status_code == 200, response.text
        assert "what Bo heard" not in response.text and "only for Bo" not in response.text
        items: list[dict[str, object]] = response.json()["data"]
        return [item for item in items if str(item["type"]).startswith("conversation.")]

    for person in (ann, bo):
        seen = await feed(h(person, "conversations:read"))
        assert [item["type"] for item in seen] == [
            "conversation.started",
            *["conversation.moved"] * 2,
        ]
    assert await feed(h(stranger, "conversations:read")) == []
    assert await feed(h(bo, "couple:read")) == []  # the types need the scope
    # A third-party app only Ann allowed hears nothing of it.
    assert await feed(h(ann, "conversations:read", client_id=THERAPIST)) == []
    await grant(app, bo, "conversations:read")
    assert len(await feed(h(ann, "conversations:read", client_id=THERAPIST))) == 3
