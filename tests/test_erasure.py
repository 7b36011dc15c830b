"""Deleting an account: closed at once, erased after the grace period, and nothing the person
wrote left in any table, while the partner keeps their own writing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import (
    Base,
    Conversation,
    ConversationTurn,
    Event,
    RepairAgreementVersion,
    RepairPlan,
    RepairStep,
    Ritual,
    RitualCommitment,
    RitualEntry,
    RitualSchedule,
    TrustRating,
    User,
)
from app.services.clients import RegisteredClient, register_client
from app.services.erasure import erase_account, erase_due_accounts
from tests.conftest import Clock, MakeUser, Person
from tests.encryption_support import EVERYTHING
from tests.factories import pair, publish_library
from tests.oauth.flow import PRIVATE_REDIRECT, authorize_url, pkce_pair, refresh
from tests.oauth.flow import sign_in as browser_sign_in
from tests.sessions_support import assert_refused, bearer, browser, sign_in

PLANS = "/v1/couples/me/repair-plans"
CONVERSATIONS = "/v1/couples/me/conversations"
RITUALS = "/v1/couples/me/rituals"
RITUAL_SCHEDULE = "/v1/couples/me/ritual-schedule"
T0 = datetime(2026, 12, 2, 15, 47, 13, tzinfo=UTC)


def h(person: Person) -> dict[str, str]:
    return person.headers(*EVERYTHING)


async def delete_account(
    client: httpx.AsyncClient, headers: dict[str, str], password: str
) -> httpx.Response:
    return await client.request("DELETE", "/v1/me", json={"password": password}, headers=headers)


@pytest.fixture
async def partner_app(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    async with sessionmaker() as session, session.begin():
        return await register_client(
            session,
            name="Closer Together",
            redirect_uris=[PRIVATE_REDIRECT],
            scopes=list(EVERYTHING),
            confidential=False,
        )


async def test_deleting_closes_the_account_at_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    db: AsyncSession,
    clock: Clock,
) -> None:
    ann, bo = await make_user(timezone="Europe/Paris"), await make_user()
    await pair(client, ann, bo)
    tokens = await sign_in(app, ann, "rapport-mobile")
    async with browser(app) as signed_in:
        assert (await browser_sign_in(signed_in, ann.user.email, ann.password)).status_code == 200
        clock.set(T0)
        response = await delete_account(client, bearer(tokens["access_token"]), ann.password)
        assert response.status_code == 202, response.text
        assert response.json() == {
            "status": "pending_erasure",
            "erase_after": "2026-12-09T15:47:13Z",
        }
        # Every way in has stopped: the access token, the refresh token, the browser session.
        await assert_refused(client, tokens["access_token"])
        assert (await refresh(client, tokens["refresh_token"], "rapport-mobile")).status_code == 400
        authorize = await signed_in.get(authorize_url("rapport-mobile", pkce_pair()[1]))
        assert authorize.status_code == 303 and "/oauth/sign-in" in authorize.headers["location"]
    # The partner sees the couple end, as after any unpair, and keeps their own access.
    assert (await client.get("/v1/couples/me", headers=h(bo))).status_code == 404
    assert (await client.get("/v1/me", headers=h(bo))).status_code == 200
    events = {e.type: e for e in await db.scalars(select(Event).where(Event.seq > 0))}
    assert events["user.deleted"].data == {} and events["user.deleted"].user_id == ann.id
    assert events["couple.ended"].data == {"ended_on": "2026-12-02"}


async def test_a_wrong_password_changes_nothing_and_attempts_are_limited(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    for _ in range(5):
        wrong = await delete_account(client, h(ann), "not my password")
        assert wrong.status_code == 403, wrong.text
        assert wrong.json()["type"] == "/problems/password-refused"
    limited = await delete_account(client, h(ann), ann.password)
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert (await client.get("/v1/couples/me", headers=h(ann))).status_code == 200
    user = await db.get(User, ann.id)
    assert user is not None and user.deactivated_at is None
    assert await db.scalar(select(Event.id).where(Event.type == "user.deleted")) is None


async def test_who_cannot_delete_an_account(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    partner_app: RegisteredClient,
    db: AsyncSession,
) -> None:
    ann, bo = await make_user(password="ann's own passphrase"), await make_user()
    third_party = ann.headers(*EVERYTHING, client_id=partner_app.client.client_id)
    refused = await delete_account(client, third_party, ann.password)
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/first-party-only"
    no_scope = await delete_account(client, ann.headers("couple:write"), ann.password)
    assert no_scope.status_code == 403
    assert no_scope.json()["type"] == "/problems/insufficient-scope"
    # Someone else knowing Ann's password deletes only themselves, never Ann.
    other = await delete_account(client, h(bo), ann.password)
    assert other.status_code == 403
    assert (await client.request("DELETE", "/v1/me", json={}, headers=h(ann))).status_code == 422
    for person in (ann, bo):
        user = await db.get(User, person.id)
        assert user is not None and user.deactivated_at is None


async def test_signing_in_during_the_grace_period_cancels_the_erasure(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann, bo = await make_user(), await make_user()
    assert (await delete_account(client, h(ann), ann.password)).status_code == 202
    async with browser(app) as other:  # neither someone else nor a wrong password cancels it
        assert (await browser_sign_in(other, bo.user.email, bo.password)).status_code == 200
        assert (await browser_sign_in(other, ann.user.email, "guess")).status_code == 400
    async with sessionmaker() as session:
        user = await session.get(User, ann.id)
        assert user is not None and user.erase_after is not None
    async with browser(app) as mine:
        assert (await browser_sign_in(mine, ann.user.email, ann.password)).status_code == 200
    later = datetime.now(UTC) + timedelta(days=30)
    async with sessionmaker() as session, session.begin():
        assert await erase_due_accounts(session, later) == 0
        user = await session.get(User, ann.id)
        assert user is not None and user.deactivated_at is None and user.erased_at is None


async def _write_everything(client: httpx.AsyncClient, person: Person, mark: str) -> None:
    today = (await client.get("/v1/couples/me/prompts/today", headers=h(person))).json()
    answered = await client.put(
        f"/v1/couples/me/prompts/{today['date']}/answer",
        json={"text": f"{mark} answer"},
        headers=h(person),
    )
    assert answered.status_code == 200, answered.text
    checkin = {"mood": 2, "note": f"{mark} note", "request": f"{mark} request"}
    assert (await client.post("/v1/checkins", json=checkin, headers=h(person))).status_code == 201
    entry = {"body": f"{mark} journal"}
    assert (await client.post("/v1/journal", json=entry, headers=h(person))).status_code == 201


async def _post(client: httpx.AsyncClient, person: Person, path: str, body: Any) -> Any:
    response = await client.post(path, json=body, headers=h(person))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _hold_a_ritual(client: httpx.AsyncClient, ann: Person, bo: Person) -> str:
    """Both appreciate, and Ann commits to something for next week: the ritual's id."""
    weekly = {"weekday": "sunday", "local_time": "19:00"}
    scheduled = await client.put(RITUAL_SCHEDULE, json=weekly, headers=h(ann))
    assert scheduled.status_code == 201, scheduled.text
    ritual = await _post(client, ann, RITUALS, None)
    steps = f"{RITUALS}/{ritual['id']}"
    for person, mark in ((ann, "ANNSECRET"), (bo, "BOWORDS")):
        words = {"step": "appreciations", "text": f"{mark} appreciation"}
        await _post(client, person, f"{steps}/entries", words)
        await _post(client, person, f"{steps}/steps/appreciations/finish", None)
        await _post(client, person, f"{steps}/entries", {"step": "went_well", "text": "ok"})
        await _post(client, person, f"{steps}/steps/went_well/finish", None)
    skipped = await client.put(f"{steps}/issue", json={"skip": True}, headers=h(ann))
    assert skipped.status_code == 200, skipped.text
    for person, mark in ((ann, "ANNSECRET"), (bo, "BOWORDS")):
        await _post(client, person, f"{steps}/commitments", {"text": f"{mark} commitment"})
    return str(ritual["id"])


async def _all_rows(db: AsyncSession) -> str:
    await db.rollback()
    dumped: list[str] = []
    for table in Base.metadata.sorted_tables:
        dumped.extend(repr(tuple(row)) for row in await db.execute(table.select()))
    return "\n".join(dumped).lower()


async def _all_texts(db: AsyncSession) -> str:
    """The free text as the app reads it: sealed at rest, opened through the ORM."""
    await db.rollback()
    dumped: list[str] = []
    for mapper in Base.registry.mappers:
        fields = getattr(mapper.class_, "__encrypted__", {})
        for row in (await db.scalars(select(mapper.class_))).all() if fields else ():
            dumped.extend(str(getattr(row, field)) for field in fields)
    return "\n".join(dumped).lower()


async def test_erasure_deletes_what_the_person_wrote_and_keeps_the_partners_own(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    db: AsyncSession,
    clock: Clock,
) -> None:
    await publish_library(app.state.sessionmaker)
    ann = await make_user(display_name="Annsecret", email="annsecret@example.org")
    bo = await make_user(display_name="Bo")
    cy = await make_user()
    await pair(client, ann, bo)
    clock.set(T0)
    await _write_everything(client, ann, "ANNSECRET")
    await _write_everything(client, bo, "BOWORDS")
    answers = (await client.get("/v1/me/answers", headers=h(bo))).json()["data"]
    plan = await _post(client, ann, PLANS, {"title": "ANNSECRET plan", "hurt_user_id": str(ann.id)})
    await _post(client, bo, f"{PLANS}/{plan['id']}/accept", None)
    await _post(
        client, ann, f"{PLANS}/{plan['id']}/steps", {"title": "ANNSECRET step", "owner": "hurt"}
    )
    await _post(
        client, bo, f"{PLANS}/{plan['id']}/steps", {"title": "BOWORDS step", "owner": "involved"}
    )
    await _post(client, ann, f"{PLANS}/{plan['id']}/agreements", {"text": "ANNSECRET pact"})
    for person, mark in ((ann, "ANNSECRET"), (bo, "BOWORDS")):
        rating = {"score": 3, "note": f"{mark} rating"}
        await _post(client, person, f"{PLANS}/{plan['id']}/trust-ratings", rating)
    talk = await _post(client, ann, CONVERSATIONS, {"topic": "ANNSECRET topic"})
    moves = f"{CONVERSATIONS}/{talk['id']}/moves"
    await _post(client, ann, moves, {"move": "share", "text": "ANNSECRET share"})
    await _post(client, bo, moves, {"move": "paraphrase", "text": "BOWORDS paraphrase"})
    ritual_id = await _hold_a_ritual(client, ann, bo)
    assert answers, "Bo's answer list is there to reflect on"
    assert "annsecret" in await _all_rows(db)
    assert "annsecret answer" in await _all_texts(db)

    assert (await delete_account(client, h(ann), ann.password)).status_code == 202
    clock.set(T0 + timedelta(days=1))
    assert (await delete_account(client, h(cy), cy.password)).status_code == 202
    async with app.state.sessionmaker() as session, session.begin():
        assert await erase_due_accounts(session, T0 + timedelta(days=7) - timedelta(seconds=1)) == 0
        assert await erase_due_accounts(session, T0 + timedelta(days=7, seconds=1)) == 1
        assert await erase_due_accounts(session, T0 + timedelta(days=7, seconds=2)) == 0

    rows = await _all_rows(db)
    assert "annsecret" not in rows
    texts = await _all_texts(db)
    assert "annsecret" not in texts
    for kept in (
        "bowords answer",
        "bowords note",
        "bowords journal",
        "bowords step",
        "bowords paraphrase",
        "bowords appreciation",
        "bowords commitment",
    ):
        assert kept in texts, kept
    erased = await db.get(User, ann.id)
    untouched = await db.get(User, cy.id)
    assert erased is not None and erased.erased_at is not None
    assert untouched is not None and untouched.erased_at is None and untouched.erase_after
    # The shared plan stays for Bo, with Ann's words gone: her step and rating deleted, the
    # agreement she proposed still there (it existed) but empty.
    kept_plan = await db.get(RepairPlan, uuid.UUID(plan["id"]))
    assert kept_plan is not None and kept_plan.proposed_by is None
    steps = [step.title for step in await db.scalars(select(RepairStep))]
    assert steps == ["BOWORDS step"]
    assert [v.text for v in await db.scalars(select(RepairAgreementVersion))] == [""]
    assert (await db.scalars(select(TrustRating.user_id))).all() == [bo.id]
    # The conversation stays, in order, with Ann's words gone.
    kept_talk = await db.get(Conversation, uuid.UUID(talk["id"]))
    assert kept_talk is not None and kept_talk.topic is None and kept_talk.started_by is None
    turns = await db.scalars(select(ConversationTurn).order_by(ConversationTurn.seq))
    assert [(t.seq, t.text) for t in turns] == [(1, None), (2, "BOWORDS paraphrase")]
    # The ritual stays for Bo, with his words and none of Ann's.
    kept_ritual = await db.get(Ritual, uuid.UUID(ritual_id))
    assert kept_ritual is not None and kept_ritual.started_by is None
    entries = await db.scalars(select(RitualEntry).order_by(RitualEntry.step))
    assert [(e.author_id, e.text) for e in entries] == [
        (bo.id, "BOWORDS appreciation"),
        (bo.id, "ok"),
    ]
    commitments = await db.scalars(select(RitualCommitment))
    assert [(c.owner_id, c.text) for c in commitments] == [(bo.id, "BOWORDS commitment")]
    assert [s.set_by for s in await db.scalars(select(RitualSchedule))] == [None]
    # Bo still signs in and reads his own writing.
    mine = await client.get("/v1/checkins", headers=h(bo))
    assert mine.status_code == 200 and len(mine.json()["data"]) == 1


async def test_a_plan_the_partner_never_accepted_is_erased_with_its_proposer(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    db: AsyncSession,
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    plan = await _post(client, ann, PLANS, {"title": "Just mine", "hurt_user_id": str(ann.id)})
    assert (await delete_account(client, h(ann), ann.password)).status_code == 202
    async with app.state.sessionmaker() as session, session.begin():
        await erase_account(session, ann.id, datetime.now(UTC))
        await erase_account(session, ann.id, datetime.now(UTC))  # twice changes nothing
    await db.rollback()
    assert await db.get(RepairPlan, uuid.UUID(plan["id"])) is None
