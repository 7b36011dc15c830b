"""The export archive's `rituals`: while the couple lasts, the person's own words and the
partner's they can read (revealed once both finished the step); once it ended, their own."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.schemas.exports_archive import ExportArchive
from tests.conftest import MakeUser, Person
from tests.exports_support import export_archive
from tests.factories import pair
from tests.rituals_support import (
    commit,
    issue,
    ok,
    schedule,
    start_ritual,
    write,
    written_and_finished,
)

pytestmark = pytest.mark.usefixtures("first_party_client")


async def _ritual(client: httpx.AsyncClient, ann: Person, bo: Person) -> str:
    ok(await schedule(client, ann), 201)
    rid = str((await start_ritual(client, ann))["id"])
    await written_and_finished(client, ann, rid, "appreciations", "ANN-APPRECIATION")
    await written_and_finished(client, bo, rid, "appreciations", "BO-APPRECIATION")
    await written_and_finished(client, ann, rid, "went_well", "ANN-WENT-WELL")
    ok(await write(client, bo, rid, "went_well", "BO-UNREVEALED"))  # not finished: hidden
    ok(await issue(client, ann, rid, skip=True))
    ok(await commit(client, ann, rid, "ANN-COMMITMENT"), 201)
    return rid


async def test_the_archive_holds_my_words_and_what_my_partner_revealed(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    rid = await _ritual(client, ann, bo)
    text = await export_archive(app, client, ann)
    for present in ("ANN-APPRECIATION", "BO-APPRECIATION", "ANN-WENT-WELL", "ANN-COMMITMENT"):
        assert present in text, present
    assert "BO-UNREVEALED" not in text
    [ritual] = ExportArchive.model_validate_json(text).rituals
    assert str(ritual.id) == rid and ritual.status == "open" and ritual.issue_done
    assert sorted(e.text for e in ritual.entries) == [
        "ANN-APPRECIATION",
        "ANN-WENT-WELL",
        "BO-APPRECIATION",
    ]
    assert [(c.owner_id, c.text, c.done_at) for c in ritual.commitments] == [
        (ann.id, "ANN-COMMITMENT", None)
    ]
    bos = await export_archive(app, client, bo)
    assert "BO-UNREVEALED" in bos and "ANN-COMMITMENT" not in bos  # not revealed to Bo yet


async def test_after_the_couple_ends_only_my_words_stay(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    await _ritual(client, ann, bo)
    left = await client.post("/v1/couples/me/leave", headers=ann.headers("couple:write"))
    assert left.status_code == 204, left.text
    text = await export_archive(app, client, ann)
    assert "ANN-APPRECIATION" in text and "ANN-COMMITMENT" in text
    assert "BO-APPRECIATION" not in text and "BO-UNREVEALED" not in text
    bos = await export_archive(app, client, bo)
    assert "BO-APPRECIATION" in bos and "BO-UNREVEALED" in bos and "ANN-" not in bos
