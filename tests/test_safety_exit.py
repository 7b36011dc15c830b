"""The safety exit: out of the couple, signed out everywhere, never paired with this partner
again, and nothing the partner can tell apart from an ordinary unpair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import CoupleBlock, Event, User
from app.services.clients import RegisteredClient, register_client
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair, start_couple
from tests.oauth.flow import (
    PRIVATE_REDIRECT,
    authorize_url,
    exchange,
    obtain_code,
    pkce_pair,
    refresh,
)
from tests.oauth.flow import sign_in as browser_sign_in
from tests.sessions_support import assert_refused, bearer, browser

SCOPES = ("profile", "couple:read", "couple:write")
EXIT = "/v1/me/safety-exit"
PARIS = ZoneInfo("Europe/Paris")
# An afternoon in the recent past: sign-ins after it are later than the exit.
T0 = (datetime.now(UTC) - timedelta(days=1)).replace(hour=14, minute=37, second=5, microsecond=0)


def h(person: Person, client_id: str = "rapport-mobile") -> dict[str, str]:
    return person.headers(*SCOPES, client_id=client_id)


@pytest.fixture
async def partner_app(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    async with sessionmaker() as session, session.begin():
        return await register_client(
            session,
            name="Closer Together",
            redirect_uris=[PRIVATE_REDIRECT],
            scopes=list(SCOPES),
            confidential=False,
        )


async def sign_in(app: FastAPI, person: Person, client_id: str) -> dict[str, str]:
    async with browser(app) as http:
        grant = await obtain_code(
            http, client_id, person.user.email, person.password, scope=" ".join(SCOPES)
        )
        response = await exchange(http, grant, client_id)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def local_midnight(moment: datetime) -> str:
    day = moment.astimezone(PARIS).date()
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    return start.isoformat().replace("+00:00", "Z")


async def ended_item(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    feed = await client.get("/v1/sync", headers=h(person))
    assert feed.status_code == 200, feed.text
    items = [item for item in feed.json()["data"] if item["type"] == "couple.ended"]
    assert len(items) == 1
    return items[0]  # type: ignore[no-any-return]


async def test_the_exit_leaves_and_signs_out_everywhere(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    partner_app: RegisteredClient,
    clock: Clock,
    db: AsyncSession,
) -> None:
    ann, bo = await make_user(timezone="Europe/Paris"), await make_user()
    await pair(client, ann, bo)
    mobile = await sign_in(app, ann, "rapport-mobile")
    other_app = await sign_in(app, ann, partner_app.client.client_id)
    bos = await sign_in(app, bo, "rapport-mobile")
    async with browser(app) as signed_in:
        assert (await browser_sign_in(signed_in, ann.user.email, ann.password)).status_code == 200
        clock.set(T0)
        done = await client.post(EXIT, json={}, headers=bearer(mobile["access_token"]))
        assert done.status_code == 200, done.text
        assert done.json() == {"status": "active", "erase_after": None}
        for tokens in (mobile, other_app):
            await assert_refused(client, tokens["access_token"])
        for tokens, client_id in (
            (mobile, "rapport-mobile"),
            (other_app, partner_app.client.client_id),
        ):
            assert (await refresh(client, tokens["refresh_token"], client_id)).status_code == 400
        again = await signed_in.get(authorize_url("rapport-mobile", pkce_pair()[1]))
        assert again.status_code == 303 and "/oauth/sign-in" in again.headers["location"]
    # Bo keeps his access and his account; the couple is gone for both.
    assert (await client.get("/v1/me", headers=bearer(bos["access_token"]))).status_code == 200
    assert (await client.get("/v1/couples/me", headers=h(bo))).status_code == 404
    # Ann can sign in again: the exit closes sessions, not her account.
    fresh = await sign_in(app, ann, "rapport-mobile")
    assert (await client.get("/v1/me", headers=bearer(fresh["access_token"]))).status_code == 200
    user = await db.get(User, ann.id)
    assert user is not None and user.deactivated_at is None


async def test_the_partner_cannot_tell_an_exit_from_an_unpair(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object, db: AsyncSession
) -> None:
    ann, bo = await make_user(timezone="Europe/Paris"), await make_user()
    cy, dee = await make_user(timezone="Europe/Paris"), await make_user()
    await pair(client, ann, bo)
    await pair(client, cy, dee)
    now = datetime.now(UTC)
    assert (await client.post(EXIT, json={}, headers=h(ann))).status_code == 200
    assert (await client.post("/v1/couples/me/leave", headers=h(cy))).status_code == 204
    exited, unpaired = await ended_item(client, bo), await ended_item(client, dee)
    written = (await db.scalars(select(Event.type).order_by(Event.seq))).all()
    assert written[-2:] == ["couple.ended", "couple.ended"]  # the exit wrote nothing else
    for item in (exited, unpaired):
        assert item["occurred_at"] == local_midnight(now)
        assert set(item["data"]) == {"id", "user_id", "couple_id", "ended_on"}
        assert item["data"]["ended_on"] == now.astimezone(PARIS).date().isoformat()
    assert exited["resource"].keys() == unpaired["resource"].keys()
    assert exited["resource"]["ended_at"] == unpaired["resource"]["ended_at"] == local_midnight(now)


async def test_the_ex_partner_meets_only_an_unknown_code(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    await pair(client, ann, bo)
    assert (await client.post(EXIT, json={}, headers=h(ann))).status_code == 200

    def shape(response: httpx.Response) -> tuple[int, dict[str, Any]]:
        body = {k: v for k, v in response.json().items() if k != "request_id"}
        return response.status_code, body

    unknown = shape(await client.post("/v1/couples/join", json={"code": "ZZZZ2222"}, headers=h(cy)))
    assert unknown[0] == 404
    # Bo invites: Ann's join looks exactly like a wrong code, and so does Bo's join of Ann's.
    bos_code = (await start_couple(client, bo))["invite"]["code"]
    ann_joins = await client.post("/v1/couples/join", json={"code": bos_code}, headers=h(ann))
    assert shape(ann_joins) == unknown
    assert (await client.post("/v1/couples/me/leave", headers=h(bo))).status_code == 204
    anns_code = (await start_couple(client, ann))["invite"]["code"]
    bo_joins = await client.post("/v1/couples/join", json={"code": anns_code}, headers=h(bo))
    assert shape(bo_joins) == unknown
    # Anyone else pairs with either of them as before.
    joined = await client.post("/v1/couples/join", json={"code": anns_code}, headers=h(cy))
    assert joined.status_code == 200, joined.text


async def test_who_cannot_exit_and_what_erasing_needs(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    partner_app: RegisteredClient,
    db: AsyncSession,
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    narrow = await client.post(EXIT, json={}, headers=ann.headers("profile", "couple:read"))
    assert narrow.status_code == 403 and narrow.json()["type"] == "/problems/insufficient-scope"
    third = h(ann, partner_app.client.client_id)
    attempts = (
        (third, {"erase": True, "password": ann.password}, 403, "/problems/first-party-only"),
        (h(ann), {"erase": True}, 422, "/problems/password-needed"),
        (h(ann), {"erase": True, "password": "wrong"}, 403, "/problems/password-refused"),
        (h(ann), {"erase": "maybe"}, 422, None),
    )
    for headers, body, status, problem in attempts:
        response = await client.post(EXIT, json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        if problem:
            assert response.json()["type"] == problem
    # None of them changed anything: still a couple, still signed in, no block.
    assert (await client.get("/v1/couples/me", headers=h(ann))).status_code == 200
    assert await db.scalar(select(CoupleBlock.id)) is None
    # A third-party app with couple:write may take the person out (without erasing).
    assert (await client.post(EXIT, json={}, headers=third)).status_code == 200
    assert (await client.get("/v1/couples/me", headers=h(bo))).status_code == 404


async def test_the_exit_can_start_the_erasure(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object, db: AsyncSession
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    body = {"erase": True, "password": ann.password}
    done = await client.post(EXIT, json=body, headers=h(ann))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "pending_erasure" and done.json()["erase_after"]
    blocks = (await db.execute(select(CoupleBlock.blocker_id, CoupleBlock.blocked_id))).all()
    assert [tuple(row) for row in blocks] == [(ann.id, bo.id)]
    types = (await db.scalars(select(Event.type).order_by(Event.seq))).all()
    assert types[-2:] == ["couple.ended", "user.deleted"]
