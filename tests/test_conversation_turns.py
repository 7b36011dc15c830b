"""A conversation's turns a page at a time, read on from the last one held; and a
conversation that reached its bound can only end."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.conversations import Conversation
from app.services.conversation_rules import MAX_TURNS
from tests.conftest import MakeUser, Person
from tests.conversations_support import CONVERSATIONS, h, moved, refused, start
from tests.factories import pair


async def _five_turns(client: httpx.AsyncClient, make_user: MakeUser) -> tuple[Person, Person, str]:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    cid = (await start(client, ann, topic="our week"))["id"]
    await moved(client, ann, cid, "share", "It was a long week.")
    await moved(client, bo, cid, "paraphrase", "You are tired.")
    await moved(client, ann, cid, "confirm")
    await moved(client, ann, cid, "pass_floor")
    await moved(client, bo, cid, "share", "Mine was good.")
    return ann, bo, cid


async def _turns(
    client: httpx.AsyncClient, person: Person, cid: str, **params: str | int
) -> httpx.Response:
    return await client.get(f"{CONVERSATIONS}/{cid}/turns", params=params, headers=h(person))


async def test_the_turns_come_in_order_a_page_at_a_time(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    _, bo, cid = await _five_turns(client, make_user)
    first = (await _turns(client, bo, cid, limit=2)).json()
    assert [turn["seq"] for turn in first["data"]] == [1, 2] and first["has_more"]
    assert first["data"][0]["text"] == "It was a long week."
    rest = (await _turns(client, bo, cid, limit=10, cursor=first["next_cursor"])).json()
    assert [turn["seq"] for turn in rest["data"]] == [3, 4, 5]
    assert rest["has_more"] is False and rest["next_cursor"] is None
    assert [turn["move"] for turn in rest["data"]] == ["confirm", "pass_floor", "share"]


async def test_a_client_reads_on_from_the_last_turn_it_holds(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, _, cid = await _five_turns(client, make_user)
    newer = (await _turns(client, ann, cid, after_seq=3)).json()
    assert [turn["seq"] for turn in newer["data"]] == [4, 5]
    assert (await _turns(client, ann, cid, after_seq=5)).json()["data"] == []


async def test_bad_paging_input_is_a_problem(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, _, cid = await _five_turns(client, make_user)
    for params in ({"after_seq": -1}, {"after_seq": "x"}, {"limit": 0}, {"cursor": "nope"}):
        response = await _turns(client, ann, cid, **params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await _turns(client, ann, str(uuid.uuid4()))
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/conversation-not-found"


async def test_a_full_conversation_can_only_end_and_then_be_appreciated(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo, cid = await _five_turns(client, make_user)
    await db.execute(
        update(Conversation).where(Conversation.id == uuid.UUID(cid)).values(last_seq=MAX_TURNS)
    )
    await db.commit()
    full = await refused(client, ann, cid, "paraphrase", "You had a good week.")
    assert full["expected_moves"] == ["end"]
    assert (await refused(client, bo, cid, "pause"))["expected_moves"] == ["end"]
    read = (await client.get(f"{CONVERSATIONS}/{cid}", headers=h(bo))).json()
    assert read["allowed_moves"] == ["end"] and read["turn_count"] == MAX_TURNS
    ended = await moved(client, bo, cid, "end")
    assert ended["ended"] and ended["allowed_moves"] == ["appreciate"]
    await moved(client, ann, cid, "appreciate", "Thank you for listening.")
