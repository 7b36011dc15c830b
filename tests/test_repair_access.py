"""Who reaches a couple's repair plans: a therapist's platform only with both partners'
live consent; and how an active plan shapes the daily prompt rotation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Consent, Couple, DailyPrompt, PromptVersion
from app.models.prompts import Category
from app.services import daily
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair, publish_library
from tests.repair_support import (
    PLANS,
    THERAPIST,
    active_plan,
    change_consent,
    grant,
    h,
    moved,
    register_therapist,
)


def via(person: Person, *scopes: str, client_id: str = THERAPIST) -> dict[str, str]:
    return person.headers(*(scopes or ("repair:read",)), client_id=client_id)


async def test_a_therapists_platform_sees_the_plan_only_while_both_partners_consent(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    plan = await active_plan(client, ann, bo, hurt_user_id=str(ann.id))
    pid = plan["id"]
    secret = "what I have not told him yet"
    await client.post(
        f"{PLANS}/{pid}/trust-ratings", json={"score": 3, "note": secret}, headers=h(ann)
    )
    await client.post(
        f"{PLANS}/{pid}/trust-ratings",
        json={"score": 6, "note": "a better week", "share_note": True},
        headers=h(ann),
    )
    await register_therapist(app)

    async def reads(person: Person) -> list[int]:
        return [
            (await client.get(path, headers=via(person))).status_code
            for path in (PLANS, f"{PLANS}/{pid}", f"{PLANS}/{pid}/trust-ratings")
        ]

    assert await reads(ann) == [404, 404, 404]
    hidden = await client.get(f"{PLANS}/{pid}", headers=via(ann))
    assert hidden.json()["type"] == "/problems/repair-plans-not-found"

    await grant(app, ann)  # one partner only
    assert await reads(ann) == [404, 404, 404]
    await grant(app, bo, "profile", "checkins:read")  # the other, but not for repair
    assert await reads(ann) == [404, 404, 404]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Consent).where(Consent.user_id == bo.id).values(scopes=["repair:read"])
        )
    assert await reads(ann) == [200, 200, 200]
    assert await reads(bo) == [200, 200, 200]
    seen = await client.get(f"{PLANS}/{pid}", headers=via(ann))
    assert seen.json()["id"] == pid
    ratings = await client.get(f"{PLANS}/{pid}/trust-ratings", headers=via(ann))
    # A private note never reaches a third party, even acting for its author.
    assert secret not in ratings.text
    assert [r["note"] for r in ratings.json()["partners"][0]["ratings"]] == [
        None,
        "a better week",
    ]
    # Reading was granted, writing was not.
    write = await client.post(
        f"{PLANS}/{pid}/pause", headers=via(ann, "repair:read", "repair:write")
    )
    assert write.status_code == 404

    await change_consent(app, bo)  # Bo revokes: access ends at once
    assert await reads(ann) == [404, 404, 404]
    assert await reads(bo) == [404, 404, 404]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Consent).where(Consent.user_id == bo.id).values(revoked_at=None)
        )
    assert await reads(ann) == [200, 200, 200]
    await change_consent(app, ann, drop=True)  # a missing consent row counts as revoked
    assert await reads(bo) == [404, 404, 404]
    # The partners themselves, through the first-party app, see it throughout.
    assert (await client.get(f"{PLANS}/{pid}", headers=h(ann))).status_code == 200


async def test_a_consented_platform_still_sees_only_its_couple(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    ann, bo, cy, di = [await make_user() for _ in range(4)]
    await pair(client, ann, bo)
    await pair(client, cy, di)
    theirs = (await active_plan(client, cy, di, mutual=True))["id"]
    await register_therapist(app)
    for person in (ann, bo):
        await grant(app, person)
    other = await client.get(f"{PLANS}/{theirs}", headers=via(ann))
    assert other.status_code == 404
    assert other.json()["type"] == "/problems/repair-plan-not-found"
    assert (await client.get(PLANS, headers=via(bo))).json()["data"] == []


async def test_first_party_clients_need_no_consent(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    await register_therapist(app, "rapport-web", first_party=True)
    seen = await client.get(f"{PLANS}/{pid}", headers=via(ann, client_id="rapport-web"))
    assert seen.status_code == 200
    unknown = await client.get(f"{PLANS}/{pid}", headers=via(ann, client_id="never-registered"))
    assert unknown.status_code == 404


async def _sensitive_ids(db: AsyncSession) -> set[uuid.UUID]:
    return set(await db.scalars(select(PromptVersion.id).where(PromptVersion.sensitive)))


async def _pool(app: FastAPI, couple_id: str, day: datetime) -> daily.Pool:
    async with app.state.sessionmaker() as session:
        couple = await session.get_one(Couple, uuid.UUID(couple_id))
        return await daily.eligible_pool(session, couple, day.date())


async def test_sensitive_prompts_leave_the_rotation_while_a_plan_is_under_way(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI, db: AsyncSession, clock: Clock
) -> None:
    light = [(category, 1) for category in Category]
    # Enough repair and play prompts that the lean never runs out of fresh ones here.
    await publish_library(app.state.sessionmaker, slug="everyday", prompts=light, per_cell=6)
    await publish_library(app.state.sessionmaker, slug="raw", prompts=light, sensitive=True)
    sensitive = await _sensitive_ids(db)
    ann, bo = await make_user(), await make_user()
    couple = await pair(client, ann, bo)
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    before = await _pool(app, str(couple["id"]), start)
    assert sensitive <= {c.version_id for c in before.candidates}

    pid = (await active_plan(client, ann, bo, mutual=True))["id"]
    scopes = ("prompts:read",)
    for offset in range(9):
        moment = start + timedelta(days=offset)
        clock.set(moment)
        pool = await _pool(app, str(couple["id"]), moment)
        assert not sensitive & {c.version_id for c in pool.candidates}
        assert {c.category for c in pool.candidates} == set(Category)
        leaning = moment.date().toordinal() % 3 != 0
        assert pool.prefer == ({Category.repair, Category.play} if leaning else set())
        today = await client.get("/v1/couples/me/prompts/today", headers=h(ann, *scopes))
        assert today.status_code == 200, today.text
        assert uuid.UUID(today.json()["prompt"]["version_id"]) not in sensitive
        if leaning:
            assert today.json()["prompt"]["category"] in ("repair", "play")

    await moved(client, bo, pid, "pause")  # a pause still spares them
    paused = await _pool(app, str(couple["id"]), start)
    assert not sensitive & {c.version_id for c in paused.candidates}
    await moved(client, ann, pid, "abandon")
    after = await _pool(app, str(couple["id"]), start + timedelta(days=1))
    assert sensitive <= {c.version_id for c in after.candidates}
    assert after.prefer == frozenset()
    await db.rollback()  # a fresh snapshot: the days the app assigned meanwhile
    assigned = list(await db.scalars(select(DailyPrompt.prompt_version_id)))
    assert len(assigned) == 9
    assert not sensitive & set(assigned)
