"""Time together and the person's data rights: the export archive holds their own marks
(never the partner's) and the couple's shared ideas and matches as the API shows them;
erasure removes their marks, their ideas and their words, and keeps the partner's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ActivityIdea, ActivityMark, ActivityMatch, ActivityReview
from app.schemas.exports_archive import ExportArchive
from app.services.erasure import erase_account
from tests.activities_support import IDEAS, MATCHES, Couple, couple_with_ideas, h, mark, plan, send
from tests.conftest import Clock, MakeUser
from tests.exports_support import export_archive

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
TODAY = NOW.date().isoformat()


async def _together(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> tuple[Couple, dict[str, str]]:
    """Ann's idea done by both, Bo's idea planned and reviewed by Bo alone, marks around."""
    clock.set(NOW)
    c = await couple_with_ideas(app, client, make_user)
    anns = await send(
        client, "POST", IDEAS, h(c.ann), {"title": "ANN-IDEA", "note": "ANN-NOTE"}, 201
    )
    bos = await send(client, "POST", IDEAS, h(c.bo), {"title": "BO-IDEA"}, 201)
    walk = str(c.play[0])
    await mark(client, c.bo, walk, "not_now")
    ids = {"ann_idea": anns["id"], "bo_idea": bos["id"], "walk": walk}
    for idea in (anns["id"], bos["id"]):
        await mark(client, c.ann, idea, "want")
        matched = await mark(client, c.bo, idea, "want")
        ids[f"match_{idea}"] = matched["match_id"]
        await plan(client, c.bo, matched["match_id"], TODAY)
    done = f"{MATCHES}/{ids['match_' + anns['id']]}/reviews"
    await send(client, "POST", done, h(c.ann), {"rating": 5, "note": "ANN-REVIEW"}, 201)
    await send(client, "POST", done, h(c.bo), {"rating": 4, "note": "BO-REVIEW"}, 201)
    half = f"{MATCHES}/{ids['match_' + bos['id']]}/reviews"
    await send(client, "POST", half, h(c.bo), {"rating": 2, "note": "BO-UNREVEALED"}, 201)
    return c, ids


async def test_the_archive_holds_my_marks_and_our_shared_activities(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, clock: Clock
) -> None:
    c, ids = await _together(app, client, make_user, clock)
    text = await export_archive(app, client, c.ann)
    archive = ExportArchive.model_validate_json(text)
    activities = archive.activities
    assert {i.title for i in activities.ideas} == {"ANN-IDEA", "BO-IDEA"}
    assert {(str(m.idea_id), m.mark) for m in activities.marks} == {
        (ids["ann_idea"], "want"),
        (ids["bo_idea"], "want"),
    }  # Bo's "not now" on the walk is his alone
    assert "not_now" not in text
    by_idea = {str(m.idea_id): m for m in activities.matches}
    assert sorted(r.note or "" for r in by_idea[ids["ann_idea"]].reviews) == [
        "ANN-REVIEW",
        "BO-REVIEW",
    ]
    assert by_idea[ids["bo_idea"]].reviews == []  # Bo's review stays his until Ann says hers
    assert "BO-UNREVEALED" not in text

    # Once the couple ended, only Ann's own part stays in her archive.
    left = await client.post("/v1/couples/me/leave", headers=c.ann.headers("couple:write"))
    assert left.status_code in (200, 204), left.text
    text = await export_archive(app, client, c.ann)
    archive = ExportArchive.model_validate_json(text)
    assert [i.title for i in archive.activities.ideas] == ["ANN-IDEA"]
    assert "BO-IDEA" not in text and "BO-REVIEW" not in text and "ANN-REVIEW" in text


async def test_erasure_removes_my_marks_ideas_and_words_and_keeps_my_partners(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, clock: Clock, db: AsyncSession
) -> None:
    c, ids = await _together(app, client, make_user, clock)
    half = f"{MATCHES}/{ids['match_' + ids['bo_idea']]}/reviews"
    await send(client, "POST", half, h(c.ann), {"rating": 3, "note": "ANN-ON-BOS"}, 201)
    async with app.state.sessionmaker() as session, session.begin():
        await erase_account(session, c.ann.id, NOW + timedelta(days=8))
    await db.rollback()
    marks = list(await db.scalars(select(ActivityMark)))
    assert {m.user_id for m in marks} == {c.bo.id}
    assert {str(m.idea_id) for m in marks} == {ids["walk"], ids["bo_idea"]}
    assert [i.title for i in await db.scalars(select(ActivityIdea))] == ["BO-IDEA"]
    [kept] = await db.scalars(select(ActivityMatch))
    assert str(kept.idea_id) == ids["bo_idea"] and kept.planned_for is not None
    assert kept.completed_at is not None  # done for Bo, who keeps the record of it
    reviews = await db.scalars(select(ActivityReview).order_by(ActivityReview.rating))
    # Ann's rating stays (the plan stays done), her words are gone; Bo's stay.
    assert [(r.user_id, r.rating, r.note) for r in reviews] == [
        (c.bo.id, 2, "BO-UNREVEALED"),
        (c.ann.id, 3, None),
    ]
