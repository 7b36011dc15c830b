"""What an export archive holds: everything the person wrote, what their partner shared
with them, and never the partner's private writing (markers written everywhere, then grepped
in the archive). Also the encrypted file format: tampering and truncation are detected."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.models.access_log import PrivateKind
from app.schemas.exports_archive import ExportArchive
from app.services import access_log
from app.services.exports_cipher import (
    CHUNK_SIZE,
    ArchiveCorrupt,
    SealedWriter,
    new_key,
    open_chunks,
)
from tests.conftest import Clock, MakeUser, Person
from tests.exports_support import export_archive, h
from tests.factories import pair, publish_library

PLANS = "/v1/couples/me/repair-plans"
CONVERSATIONS = "/v1/couples/me/conversations"
DAY_1 = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def _post(client: httpx.AsyncClient, person: Person, path: str, body: Any) -> Any:
    response = await client.post(path, json=body, headers=h(person))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _answer(client: httpx.AsyncClient, person: Person, text: str) -> None:
    today = (await client.get("/v1/couples/me/prompts/today", headers=h(person))).json()
    response = await client.put(
        f"/v1/couples/me/prompts/{today['date']}/answer", json={"text": text}, headers=h(person)
    )
    assert response.status_code == 200, response.text


async def _write(client: httpx.AsyncClient, person: Person, mark: str) -> None:
    await _post(client, person, "/v1/checkins", {"mood": 2, "note": f"{mark}-PRIVATE-CHECKIN"})
    await _post(
        client,
        person,
        "/v1/checkins",
        {"mood": 4, "note": f"{mark}-SHARED-CHECKIN", "visibility": "partner"},
    )
    await _post(client, person, "/v1/journal", {"body": f"{mark}-JOURNAL"})


async def test_the_archive_holds_mine_and_what_was_shared_never_the_partners_private(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    clock: Clock,
) -> None:
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    clock.set(DAY_1)
    await _answer(client, ann, "ANN-ANSWER")
    await _answer(client, bo, "BO-REVEALED-ANSWER")
    mine = (await client.get("/v1/me/answers", headers=h(ann))).json()["data"][0]
    theirs = mine["partner_answer"]
    await _post(
        client,
        bo,
        f"/v1/answers/{mine['answer']['id']}/reflections",
        {"kind": "appreciate", "text": "BO-REFLECTION-ON-ANN"},
    )
    await _post(
        client,
        ann,
        f"/v1/answers/{theirs['id']}/reflections",
        {"kind": "reflect", "text": "ANN-REFLECTION"},
    )
    await _write(client, ann, "ANN")
    await _write(client, bo, "BO")
    plan = await _post(client, ann, PLANS, {"title": "ANN-PLAN", "hurt_user_id": str(ann.id)})
    pid = plan["id"]
    await _post(client, bo, f"{PLANS}/{pid}/accept", None)
    await _post(client, bo, f"{PLANS}/{pid}/steps", {"title": "BO-STEP", "owner": "involved"})
    pact = await _post(client, ann, f"{PLANS}/{pid}/agreements", {"text": "ANN-PACT"})
    await _post(client, bo, f"{PLANS}/{pid}/agreements/{pact['id']}/sign", {"version": 1})
    await _post(client, bo, f"{PLANS}/{pid}/agreements", {"text": "BO-UNSIGNED-PACT"})
    await _post(client, ann, f"{PLANS}/{pid}/trust-ratings", {"score": 4, "note": "ANN-TRUST"})
    await _post(client, bo, f"{PLANS}/{pid}/trust-ratings", {"score": 3, "note": "BO-TRUST"})
    talk = await _post(client, ann, CONVERSATIONS, {"topic": "ANN-TOPIC"})
    moves = f"{CONVERSATIONS}/{talk['id']}/moves"
    await _post(client, ann, moves, {"move": "share", "text": "ANN-SHARE"})
    await _post(client, bo, moves, {"move": "paraphrase", "text": "BO-PARAPHRASE"})
    clock.advance(timedelta(days=1))
    await _answer(client, bo, "BO-UNREVEALED-ANSWER")

    async with app.state.sessionmaker() as session, session.begin():
        reader = ann.member("journal:read", client_id="closer-together")
        await access_log.record(session, reader, PrivateKind.journal_entry, 2, "journal_list")

    text = await export_archive(app, client, ann)
    assert list(json.loads(text)) == list(ExportArchive.model_fields)
    archive = ExportArchive.model_validate_json(text)
    [read] = archive.access_log
    assert (read.client_id, read.kind, read.items) == ("closer-together", "journal_entry", 2)
    assert archive.profile.id == ann.id and archive.format == "rapport-export"
    for written_or_shared in (
        "ANN-ANSWER",
        "ANN-REFLECTION",
        "ANN-PRIVATE-CHECKIN",
        "ANN-SHARED-CHECKIN",
        "ANN-JOURNAL",
        "ANN-PLAN",
        "ANN-PACT",
        "ANN-TRUST",
        "BO-REVEALED-ANSWER",
        "BO-REFLECTION-ON-ANN",
        "BO-SHARED-CHECKIN",
        "BO-STEP",
        "ANN-TOPIC",
        "ANN-SHARE",
        "BO-PARAPHRASE",
    ):
        assert written_or_shared in text, written_or_shared
    for partners_private in (
        "BO-PRIVATE-CHECKIN",
        "BO-JOURNAL",
        "BO-UNREVEALED-ANSWER",
        "BO-TRUST",
        "BO-UNSIGNED-PACT",
    ):
        assert partners_private not in text, partners_private
    assert [a.text for a in archive.answers] == ["ANN-ANSWER"]
    partner_answer = archive.answers[0].partner_answer
    assert partner_answer is not None and partner_answer.text == "BO-REVEALED-ANSWER"
    assert [c.note for c in archive.partner_checkins] == ["BO-SHARED-CHECKIN"]
    assert {c.note for c in archive.checkins} == {"ANN-PRIVATE-CHECKIN", "ANN-SHARED-CHECKIN"}
    assert {(r.text, r.by_me) for r in archive.reflections} == {
        ("BO-REFLECTION-ON-ANN", False),
        ("ANN-REFLECTION", True),
    }
    [couple] = archive.couples
    assert couple.partner_id == bo.id and couple.partner_display_name == "Bo"
    [exported_plan] = archive.repair_plans
    assert [v.text for a in exported_plan.agreements for v in a.versions] == ["ANN-PACT"]
    assert exported_plan.agreements[0].versions[0].in_force_at is not None
    assert [r.note for r in exported_plan.trust_ratings] == ["ANN-TRUST"]
    [conversation] = archive.conversations
    assert conversation.topic == "ANN-TOPIC" and conversation.phase == "awaiting_confirmation"
    assert [(t.seq, t.move, t.text) for t in conversation.turns] == [
        (1, "share", "ANN-SHARE"),
        (2, "paraphrase", "BO-PARAPHRASE"),
    ]

    # Bo's own export holds his private writing, and none of Ann's.
    bos = await export_archive(app, client, bo)
    assert "BO-JOURNAL" in bos and "BO-PRIVATE-CHECKIN" in bos and "BO-TRUST" in bos
    assert "ANN-JOURNAL" not in bos and "ANN-PRIVATE-CHECKIN" not in bos
    assert "ANN-TRUST" not in bos


async def test_after_the_couple_ends_only_my_part_of_our_plans_stays_in_my_archive(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    await _write(client, bo, "BO")
    plan = await _post(client, ann, PLANS, {"title": "OUR-PLAN", "hurt_user_id": str(ann.id)})
    await _post(client, bo, f"{PLANS}/{plan['id']}/accept", None)
    await _post(
        client, bo, f"{PLANS}/{plan['id']}/steps", {"title": "BO-STEP", "owner": "involved"}
    )
    await _post(client, ann, f"{PLANS}/{plan['id']}/steps", {"title": "ANN-STEP", "owner": "hurt"})
    talk = await _post(client, bo, CONVERSATIONS, {"topic": "BO-TOPIC", "first_speaker": "partner"})
    moves = f"{CONVERSATIONS}/{talk['id']}/moves"
    await _post(client, ann, moves, {"move": "share", "text": "ANN-SHARE"})
    await _post(client, bo, moves, {"move": "paraphrase", "text": "BO-PARAPHRASE"})
    left = await client.post("/v1/couples/me/leave", headers=h(ann))
    assert left.status_code == 204, left.text
    text = await export_archive(app, client, ann)
    assert "OUR-PLAN" in text and "ANN-STEP" in text
    assert "BO-STEP" not in text and "BO-SHARED-CHECKIN" not in text
    assert "BO-TOPIC" not in text and "BO-PARAPHRASE" not in text and "ANN-SHARE" in text
    archive = ExportArchive.model_validate_json(text)
    assert archive.couples[0].status == "ended" and archive.couples[0].ended_at is not None


def _seal(path: Path, key: bytes, export_id: uuid.UUID, data: bytes) -> None:
    writer = SealedWriter(path, key, export_id)
    for start in range(0, len(data), 1000):
        writer.write(data[start : start + 1000])
    writer.close()


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17])
def test_the_file_round_trips_in_chunks(tmp_path: Path, size: int) -> None:
    key, export_id, path = new_key(), uuid.uuid4(), tmp_path / "a.rpx"
    data = bytes(i % 251 for i in range(size))
    _seal(path, key, export_id, data)
    assert b"".join(open_chunks(path, key, export_id)) == data
    assert all(len(chunk) <= CHUNK_SIZE for chunk in open_chunks(path, key, export_id))


def test_truncation_tampering_and_another_key_or_export_are_detected(tmp_path: Path) -> None:
    key, export_id, path = new_key(), uuid.uuid4(), tmp_path / "a.rpx"
    data = b"x" * (2 * CHUNK_SIZE + 5)
    _seal(path, key, export_id, data)
    whole = path.read_bytes()
    chunk_on_disk = 1 + 4 + 12 + CHUNK_SIZE + 16

    def fails(content: bytes, key: bytes = key, export_id: uuid.UUID = export_id) -> None:
        path.write_bytes(content)
        with pytest.raises(ArchiveCorrupt):
            b"".join(open_chunks(path, key, export_id))

    fails(whole[: 4 + 2 * chunk_on_disk])  # cut at a chunk boundary: no last chunk
    fails(whole[:-1])  # cut inside the last chunk
    fails(whole + whole[4 : 4 + chunk_on_disk])  # a chunk appended after the last
    flipped = bytearray(whole)
    flipped[4 + chunk_on_disk + 40] ^= 1
    fails(bytes(flipped))
    marked_last = bytearray(whole)
    marked_last[4] = 1  # the first chunk claims to be the last
    fails(bytes(marked_last))
    swapped = whole[:4] + whole[4 + chunk_on_disk : 4 + 2 * chunk_on_disk]
    fails(swapped + whole[4 : 4 + chunk_on_disk] + whole[4 + 2 * chunk_on_disk :])
    fails(whole, key=new_key())
    fails(whole, export_id=uuid.uuid4())
    fails(b"PK\x03\x04" + whole[4:])
