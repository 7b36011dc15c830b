"""Speaker-listener conversations over HTTP: a whole session between two partners, moves out
of turn refused with nothing changed, bad input refused, and the texts sealed at rest."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.core.event_catalog import EVENT_TYPES
from app.models import Event, PromptVersion
from app.services.conversation_rules import MAX_TEXT
from tests.conftest import MakeUser, Person
from tests.conversations_support import CONVERSATIONS, act, h, moved, refused, start
from tests.encryption_support import raw_database_text
from tests.factories import pair, publish_library, start_couple


async def _events(db: AsyncSession) -> list[Event]:
    await db.rollback()
    return list(
        await db.scalars(
            select(Event).where(Event.type.startswith("conversation.")).order_by(Event.seq)
        )
    )


async def _get(client: httpx.AsyncClient, person: Person, cid: str) -> httpx.Response:
    return await client.get(f"{CONVERSATIONS}/{cid}", headers=h(person))


async def test_a_whole_session_between_two_partners(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    started = await start(client, ann, topic="Sunday mornings")
    cid = started["id"]
    assert started["speaker_id"] == str(ann.id) and started["listener_id"] == str(bo.id)
    assert started["phase"] == "awaiting_share" and started["turns"] == []
    assert started["allowed_moves"] == ["share", "pause", "end"]
    assert started["topic"] == "Sunday mornings" and started["started_by"] == str(ann.id)

    await moved(client, ann, cid, "share", "I miss slow mornings with you.")
    listening = (await _get(client, bo, cid)).json()
    assert listening["allowed_moves"] == ["paraphrase", "pause", "end"]
    await moved(client, bo, cid, "paraphrase", "You want more time with me in the morning.")
    await moved(client, ann, cid, "correct", "Not more time: slower time.")
    await moved(client, bo, cid, "paraphrase", "You miss mornings without rushing.")
    confirmed = await moved(client, ann, cid, "confirm")
    assert confirmed["phase"] == "confirmed"
    assert confirmed["allowed_moves"] == ["share", "pass_floor", "pause", "end"]
    passed = await moved(client, ann, cid, "pass_floor")
    assert passed["speaker_id"] == str(bo.id) and passed["listener_id"] == str(ann.id)
    assert passed["phase"] == "awaiting_share"

    await moved(client, bo, cid, "share", "I rush because I worry about work.")
    paused = await moved(client, ann, cid, "pause")
    assert paused["paused"] is True and paused["allowed_moves"] == ["resume", "end"]
    problem = await refused(client, bo, cid, "paraphrase", "anything")
    assert problem["expected_moves"] == ["resume", "end"] and problem["paused"] is True
    await moved(client, bo, cid, "resume")
    await moved(client, ann, cid, "paraphrase", "Work worries make mornings hurried.")
    ended = await moved(client, bo, cid, "end")
    assert ended["ended"] is True and ended["ended_at"] is not None
    assert ended["allowed_moves"] == ["appreciate"]
    await moved(client, ann, cid, "appreciate", "Thank you for telling me.")
    last = await moved(client, bo, cid, "appreciate", "Thank you for listening.")
    assert sorted(last["appreciated_by"]) == sorted([str(ann.id), str(bo.id)])
    assert last["allowed_moves"] == []
    again = await refused(client, ann, cid, "appreciate", "once more")
    assert again["expected_moves"] == []

    turns = last["turns"]
    assert [t["seq"] for t in turns] == list(range(1, 14))
    assert [t["move"] for t in turns] == [
        "share",
        "paraphrase",
        "correct",
        "paraphrase",
        "confirm",
        "pass_floor",
        "share",
        "pause",
        "resume",
        "paraphrase",
        "end",
        "appreciate",
        "appreciate",
    ]
    authors = [t["author_id"] for t in turns]
    assert authors[:3] == [str(ann.id), str(bo.id), str(ann.id)]
    assert turns[0]["text"] == "I miss slow mornings with you." and turns[4]["text"] is None
    # Bo reads the same session, with his own moves.
    seen = (await _get(client, bo, cid)).json()
    assert seen["turns"] == turns and seen["allowed_moves"] == []

    events = await _events(db)
    assert [e.type for e in events] == [
        "conversation.started",
        *["conversation.moved"] * 10,
        "conversation.ended",
        *["conversation.moved"] * 2,
    ]
    for event in events:
        assert set(event.data) == {f.name for f in EVENT_TYPES[event.type].fields}
        assert "morning" not in str(event.data).lower()  # ids, moves and phases only
    assert events[-1].data["move"] == "appreciate" and events[-1].user_id == bo.id


async def test_moves_out_of_turn_are_refused_and_change_nothing(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    cid = (await start(client, ann))["id"]
    before = await _get(client, ann, cid)
    events = len(await _events(db))

    listener_first = await refused(client, bo, cid, "share", "me first")
    assert listener_first["expected_moves"] == ["pause", "end"]
    assert listener_first["phase"] == "awaiting_share"
    assert "pause, end" in listener_first["detail"]
    assert (await refused(client, ann, cid, "confirm"))["expected_moves"] == [
        "share",
        "pause",
        "end",
    ]
    assert (await refused(client, ann, cid, "appreciate", "too soon"))["ended"] is False
    await moved(client, ann, cid, "share", "Something I need to say.")
    # The speaker cannot paraphrase herself, nor pass the floor before a confirmed paraphrase.
    assert (await refused(client, ann, cid, "paraphrase", "me again"))["expected_moves"] == [
        "pause",
        "end",
    ]
    await refused(client, ann, cid, "pass_floor")
    await refused(client, bo, cid, "confirm")
    await refused(client, bo, cid, "resume")

    after = await _get(client, ann, cid)
    assert after.json()["turn_count"] == 1 and len(after.json()["turns"]) == 1
    assert len(await _events(db)) == events + 1
    assert before.json()["turns"] == []


async def test_bad_input_is_a_422_problem(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    cid = (await start(client, ann))["id"]
    bodies: list[dict[str, Any]] = [
        {"move": "share"},
        {"move": "share", "text": ""},
        {"move": "share", "text": "   "},
        {"move": "share", "text": "x" * (MAX_TEXT + 1)},
        {"move": "share", "text": "a\x00b"},
        {"move": "pause", "text": "why I pause"},
        {"move": "shout", "text": "no"},
        {"move": "share", "text": "hi", "extra": 1},
        {"text": "no move"},
    ]
    for body in bodies:
        response = await client.post(f"{CONVERSATIONS}/{cid}/moves", json=body, headers=h(ann))
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["type"] == "/problems/validation-error" and problem["errors"], body
    assert (await _get(client, ann, cid)).json()["turn_count"] == 0
    assert (await moved(client, ann, cid, "share", "x" * MAX_TEXT))["turn_count"] == 1

    for body in ({"topic": "t" * 201}, {"first_speaker": "both"}, {"topic": "ok", "x": 1}):
        response = await client.post(CONVERSATIONS, json=body, headers=h(ann))
        assert response.status_code == 422, (body, response.text)
    unknown = await client.post(
        CONVERSATIONS, json={"prompt_id": "00000000-0000-4000-8000-000000000000"}, headers=h(ann)
    )
    assert unknown.status_code == 404 and unknown.json()["type"] == "/problems/prompt-not-found"
    assert unknown.json()["errors"][0]["pointer"] == "#/prompt_id"
    bad_id = await client.get(f"{CONVERSATIONS}/not-a-uuid", headers=h(ann))
    assert bad_id.status_code == 422
    bad_cursor = await client.get(f"{CONVERSATIONS}?cursor=nonsense", headers=h(ann))
    assert bad_cursor.status_code == 422


async def test_starting_from_a_prompt_with_the_partner_speaking_first(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await publish_library(app.state.sessionmaker)
    prompt_id = await db.scalar(select(PromptVersion.prompt_id).where(PromptVersion.is_live))
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    started = await start(client, ann, prompt_id=str(prompt_id), first_speaker="partner")
    assert started["prompt_id"] == str(prompt_id) and started["topic"] is None
    assert started["speaker_id"] == str(bo.id) and started["allowed_moves"] == ["pause", "end"]
    await moved(client, bo, started["id"], "share", "From the prompt.")
    (event,) = [e for e in await _events(db) if e.type == "conversation.started"]
    assert event.data == {"conversation_id": started["id"], "prompt_id": str(prompt_id)}


async def test_a_person_alone_in_a_couple_cannot_start_one(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    await start_couple(client, ann)
    response = await client.post(CONVERSATIONS, json={}, headers=h(ann))
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/conversation-needs-partner"
    listed = await client.get(CONVERSATIONS, headers=h(ann))
    assert listed.status_code == 200 and listed.json()["data"] == []


async def test_the_list_pages_newest_first(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    ids = [
        (await start(client, who, topic=f"topic {n}"))["id"] for n, who in enumerate((ann, bo, ann))
    ]
    first = (await client.get(f"{CONVERSATIONS}?limit=2", headers=h(bo))).json()
    assert [c["id"] for c in first["data"]] == ids[::-1][:2] and first["has_more"] is True
    assert "turns" not in first["data"][0]
    rest = await client.get(f"{CONVERSATIONS}?limit=2&cursor={first['next_cursor']}", headers=h(bo))
    assert [c["id"] for c in rest.json()["data"]] == [ids[0]]
    assert rest.json()["has_more"] is False


async def test_two_moves_at_once_queue_and_the_second_sees_the_first(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    cid = (await start(client, ann))["id"]
    await moved(client, ann, cid, "share", "Hear me.")
    answers = await asyncio.gather(
        act(client, bo, cid, "paraphrase", "I hear you."),
        act(client, bo, cid, "paraphrase", "I hear you, twice."),
    )
    assert sorted(r.status_code for r in answers) == [200, 409]
    final = (await _get(client, ann, cid)).json()
    assert final["turn_count"] == 2 and [t["seq"] for t in final["turns"]] == [1, 2]


async def test_the_words_are_sealed_at_rest(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    engine: AsyncEngine,
    test_settings: Settings,
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    mark = "QZXCONVMARK"
    cid = (await start(client, ann, topic=f"{mark} topic"))["id"]
    await moved(client, ann, cid, "share", f"{mark} share")
    await moved(client, bo, cid, "paraphrase", f"{mark} paraphrase")
    raw = await raw_database_text(engine, test_settings)
    assert mark not in raw and "rp1." in raw
    read = (await _get(client, bo, cid)).json()
    assert read["topic"] == f"{mark} topic"
    assert [t["text"] for t in read["turns"]] == [f"{mark} share", f"{mark} paraphrase"]
