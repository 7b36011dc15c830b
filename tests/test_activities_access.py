"""Who must not see or change a couple's activities: a stranger, another couple's member, an
ex-partner, a token without the scopes, and an app without both partners' consent; and
the consent rule that webhooks and the sync feed share (a mark reaches no one)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.delivery.dispatcher import Dispatcher
from app.models import Consent, Event
from app.models.base import utcnow
from app.services.visibility import SUBJECTS, Facts, Subject, Viewer, can_see
from tests.activities_support import (
    IDEAS,
    MATCHES,
    THERAPIST,
    Couple,
    couple_with_ideas,
    grant,
    h,
    mark,
    matches,
    register_therapist,
    send,
)
from tests.conftest import MakeUser, Person
from tests.factories import pair
from tests.webhooks_support import Partner, Receiver, register, running
from tests.webhooks_support import grant as grant_partner


def delivered(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests]


def types(receiver: Receiver) -> list[str]:
    return [document["type"] for document in delivered(receiver)]


async def drain(dispatcher: Dispatcher) -> None:
    while await dispatcher.run_once():
        pass


async def _matched(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> tuple[Couple, str, str]:
    c = await couple_with_ideas(app, client, make_user)
    own = await send(client, "POST", IDEAS, h(c.ann), {"title": "Karaoke night"}, 201)
    await mark(client, c.ann, own["id"], "want")
    await mark(client, c.bo, own["id"], "want")
    [match] = await matches(client, c.ann)
    return c, own["id"], match["id"]


async def _reads(
    client: httpx.AsyncClient, headers: dict[str, str], idea: str, match: str
) -> list[int]:
    paths = (IDEAS, f"{IDEAS}/{idea}", MATCHES, f"{MATCHES}/{match}")
    return [(await client.get(path, headers=headers)).status_code for path in paths]


async def _writes(
    client: httpx.AsyncClient, headers: dict[str, str], idea: str, match: str
) -> list[int]:
    star = headers | {"If-Match": "*"}
    return [
        (await client.post(IDEAS, json={"title": "mine"}, headers=headers)).status_code,
        (
            await client.put(f"{IDEAS}/{idea}/mark", json={"mark": "not_now"}, headers=headers)
        ).status_code,
        (await client.delete(f"{IDEAS}/{idea}/mark", headers=headers)).status_code,
        (await client.delete(f"{IDEAS}/{idea}", headers=headers)).status_code,
        (
            await client.patch(f"{MATCHES}/{match}", json={"planned_for": None}, headers=star)
        ).status_code,
        (
            await client.post(f"{MATCHES}/{match}/reviews", json={"rating": 3}, headers=headers)
        ).status_code,
    ]


async def _unchanged(client: httpx.AsyncClient, c: Couple, match: str) -> None:
    [still] = await matches(client, c.bo)
    assert still["id"] == match and still["status"] == "matched" and still["reviews"] == []
    titles = [i["title"] for i in (await send(client, "GET", IDEAS, h(c.bo)))["data"]]
    assert titles[0] == "Karaoke night" and "mine" not in titles


async def test_strangers_and_other_couples_find_nothing(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    c, idea, match = await _matched(app, client, make_user)
    stranger = await make_user()
    assert await _reads(client, h(stranger), idea, match) == [404] * 4
    assert await _writes(client, h(stranger), idea, match) == [404] * 6
    cy, dee = await make_user(), await make_user()
    await pair(client, cy, dee)
    assert (await client.get(f"{IDEAS}/{idea}", headers=h(cy))).status_code == 404
    assert (await client.get(f"{MATCHES}/{match}", headers=h(cy))).status_code == 404
    writes = await _writes(client, h(cy), idea, match)
    assert writes[0] == 201 and writes[1:] == [404] * 5  # they add an idea to their own list
    theirs = [i["title"] for i in (await send(client, "GET", IDEAS, h(dee)))["data"]]
    assert "Karaoke night" not in theirs and "mine" in theirs
    await _unchanged(client, c, match)


async def test_tokens_need_the_scopes(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    c, idea, match = await _matched(app, client, make_user)
    nothing = h(c.bo, "couple:read", "conversations:read", "prompts:read")
    assert await _reads(client, nothing, idea, match) == [403] * 4
    assert await _writes(client, nothing, idea, match) == [403] * 6
    reading = h(c.bo, "activities:read")
    assert await _reads(client, reading, idea, match) == [200] * 4
    assert await _writes(client, reading, idea, match) == [403] * 6
    assert (await client.get(IDEAS)).status_code == 401
    await _unchanged(client, c, match)


async def test_a_third_party_app_needs_both_partners_consent(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    c, idea, match = await _matched(app, client, make_user)
    await register_therapist(app)

    def via(person: Person) -> dict[str, str]:
        return h(person, client_id=THERAPIST)

    assert await _reads(client, via(c.ann), idea, match) == [404] * 4
    assert await _writes(client, via(c.ann), idea, match) == [404] * 6
    hidden = (await client.get(IDEAS, headers=via(c.ann))).json()
    assert hidden["type"] == "/problems/activities-not-found"
    await grant(app, c.ann)
    assert await _reads(client, via(c.ann), idea, match) == [404] * 4
    await grant(app, c.bo, "activities:read")  # read, not write
    assert await _reads(client, via(c.ann), idea, match) == [200] * 4
    # Ann's own mark reaches the app acting for her; Bo's is shown to nobody but Bo.
    assert (await send(client, "GET", f"{IDEAS}/{idea}", via(c.ann)))["my_mark"] == "want"
    await mark(client, c.bo, idea, "not_now")  # Bo changes his mind in Rapport's own app
    through_app = await client.get(f"{IDEAS}/{idea}", headers=via(c.ann))
    assert "not_now" not in through_app.text
    writes = await _writes(client, via(c.bo), idea, match)
    assert writes == [404] * 6  # Bo granted no write scope: nothing is writable through it
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Consent).where(Consent.user_id == c.bo.id).values(revoked_at=utcnow())
        )
    assert await _reads(client, via(c.ann), idea, match) == [404] * 4
    assert (await client.get(IDEAS, headers=h(c.ann))).status_code == 200


async def test_an_ex_partner_sees_none_of_it(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    c, idea, match = await _matched(app, client, make_user)

    async def feed(person: Person) -> list[str]:
        response = await client.get("/v1/sync", headers=h(person, "activities:read"))
        assert response.status_code == 200, response.text
        return [i["type"] for i in response.json()["data"] if i["type"].startswith("activity.")]

    assert await feed(c.bo) == ["activity.idea_added", "activity.matched"]
    left = await client.post("/v1/couples/me/leave", headers=c.bo.headers("couple:write"))
    assert left.status_code in (200, 204), left.text
    assert await feed(c.bo) == [] and await feed(c.ann) == []  # gone from both feeds
    for person in (c.ann, c.bo):
        assert await _reads(client, h(person), idea, match) == [404] * 4
        assert await _writes(client, h(person), idea, match) == [404] * 6
    # With a new partner, Bo starts from an empty list of his own.
    eve = await make_user()
    await pair(client, c.bo, eve)
    assert await _reads(client, h(c.bo), idea, match) == [200, 404, 200, 404]
    assert await matches(client, c.bo) == []
    titles = [i["title"] for i in (await send(client, "GET", IDEAS, h(eve)))["data"]]
    assert "Karaoke night" not in titles


def test_webhooks_and_sync_ask_both_partners_consent_with_the_read_scope() -> None:
    ann, bo, couple = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert {SUBJECTS[n] for n in SUBJECTS if n.startswith("activity.")} == {Subject.activity}
    read = frozenset({"activities:read"})
    facts = Facts(active_members={couple: {ann, bo}}, ever_members={couple: {ann, bo}})
    event = Event(type="activity.matched", couple_id=couple, user_id=None, data={})
    app = Viewer("together-space", ann, read)
    assert not can_see(app, event, facts)
    facts.consents[(ann, "together-space")] = read
    facts.consents[(bo, "together-space")] = frozenset({"conversations:read"})
    assert not can_see(app, event, facts)
    facts.consents[(bo, "together-space")] = read
    assert can_see(app, event, facts)
    assert can_see(Viewer("rapport-mobile", bo, read, first_party=True), event, facts)
    facts.active_members[couple] = {ann}  # Bo left
    assert not can_see(Viewer("rapport-mobile", bo, read, first_party=True), event, facts)
    assert not can_see(app, event, facts)


async def test_a_platform_hears_of_matches_only_once_both_allowed_it_and_never_of_a_mark(
    app: FastAPI,
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    partner: Partner,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
) -> None:
    receiver = Receiver()
    async with running(receiver):
        await register(client, partner, receiver.url)
        c = await couple_with_ideas(app, client, make_user)
        await grant_partner(sessionmaker, c.ann.id, partner.client_id, "activities:read")
        walk, game = (str(idea) for idea in c.play)
        await mark(client, c.ann, walk, "want")
        await mark(client, c.bo, walk, "want")
        await drain(dispatcher)
        assert types(receiver) == []  # only Ann allowed it: the app cannot read it either
        await grant_partner(sessionmaker, c.bo.id, partner.client_id, "activities:read")
        await mark(client, c.bo, game, "not_now")
        await mark(client, c.ann, game, "want")
        await mark(client, c.bo, walk, "not_now")
        own = await send(client, "POST", IDEAS, h(c.ann), {"title": "Salsa lesson"}, 201)
        await drain(dispatcher)
    assert types(receiver) == ["activity.unmatched", "activity.idea_added"]
    payloads: list[dict[str, Any]] = delivered(receiver)
    text = json.dumps(payloads)
    for word in ("not_now", "want", "Salsa", "mark"):
        assert word not in text, word
    assert payloads[0]["data"]["idea_id"] == walk and payloads[0]["data"]["user_id"] is None
    assert payloads[1]["data"]["idea_id"] == own["id"]
