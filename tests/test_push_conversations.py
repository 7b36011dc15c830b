"""Pushes for conversations: "it's your turn" to the partner whose turn a move made it, never
the words, and nothing for a move that was overtaken before the push was queued."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from app.push.senders import Senders
from tests.conftest import MakeUser, Person
from tests.conversations_support import moved, start
from tests.factories import pair
from tests.push_support import Sessions, deliveries, log_senders, register, run_pushes, sent

pytestmark = pytest.mark.usefixtures("first_party_client")

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
WORDS = "the-words-marker-5d21"


@pytest.fixture
def senders() -> Senders:
    return log_senders()


async def pushed_to(sessionmaker: Sessions, senders: Senders) -> list[object]:
    """Whom the pushes owed by now went to (the deliveries this run added)."""
    before = {d.id for d in await deliveries(sessionmaker)}
    await run_pushes(sessionmaker, senders, NOW)
    return [d.user_id for d in await deliveries(sessionmaker) if d.id not in before]


async def test_each_turn_is_pushed_to_the_partner_whose_turn_it_is(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: Sessions, senders: Senders
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    await pair(client, ann, bo)
    for person in (ann, bo, cy):
        await register(client, person)
    cid = (await start(client, ann, topic=WORDS))["id"]
    assert await pushed_to(sessionmaker, senders) == []  # Ann speaks first: Bo has no turn
    await moved(client, ann, cid, "share", WORDS)
    assert await pushed_to(sessionmaker, senders) == [bo.id]  # Bo paraphrases
    await moved(client, bo, cid, "paraphrase", WORDS)
    assert await pushed_to(sessionmaker, senders) == [ann.id]  # Ann confirms or corrects
    await moved(client, ann, cid, "confirm")
    assert await pushed_to(sessionmaker, senders) == []  # Ann goes on: still hers
    await moved(client, ann, cid, "pass_floor")
    assert await pushed_to(sessionmaker, senders) == [bo.id]  # Bo holds the floor now
    # Two moves before the pushes are queued: only the latest one's push is owed.
    await moved(client, bo, cid, "share", WORDS)
    await moved(client, ann, cid, "paraphrase", WORDS)
    assert await pushed_to(sessionmaker, senders) == [bo.id]
    await moved(client, bo, cid, "pause")
    assert await pushed_to(sessionmaker, senders) == []

    messages = sent(senders)
    assert {m.message.data["kind"] for m in messages} == {"conversation_turn"}
    assert {m.message.body for m in messages} == {"It's your turn in your conversation."}
    assert set(messages[0].message.data) == {"kind", "couple_id", "conversation_id"}
    assert all(WORDS not in json.dumps(m.message.data) + m.message.body for m in messages)
    assert cy.id not in {d.user_id for d in await deliveries(sessionmaker)}


async def test_a_partner_who_turned_them_off_gets_none(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: Sessions, senders: Senders
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    for person in (ann, bo):
        await register(client, person)
    turned_off = await client.patch(
        "/v1/me/notification-settings",
        json={"types": {"conversation_turn": False}},
        headers=_settings_headers(bo),
    )
    assert turned_off.status_code == 200, turned_off.text
    cid = (await start(client, ann))["id"]
    await moved(client, ann, cid, "share", WORDS)
    assert await pushed_to(sessionmaker, senders) == []


def _settings_headers(person: Person) -> dict[str, str]:
    return person.headers("profile", client_id="rapport-mobile")
