"""Devices over HTTP: registering (idempotent, one owner per token), listing, removing, and
who must not: a third-party app, a stranger; signing out removes a device."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import store
from app.models.base import utcnow
from app.models.push import Device
from app.services.clients import register_client
from app.services.erasure import erase_account
from tests.conftest import MakeUser
from tests.push_support import DEVICES, apns_token, device_ids, fcm_token, h, register
from tests.sessions_support import bearer, sign_in

pytestmark = pytest.mark.usefixtures("first_party_client")


@pytest.fixture
async def third_party(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as session, session.begin():
        registered = await register_client(
            session,
            name="Closer Together",
            redirect_uris=["https://closer.example/callback"],
            scopes=["profile"],
            confidential=True,
        )
    return registered.client.client_id


async def test_registering_is_idempotent(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    ann = await make_user()
    token = apns_token()
    first = await register(client, ann, token)
    assert first["provider"] == "apns" and first["platform"] == "ios"
    assert first["token_hint"] == token[-6:] and "token" not in first
    again = await register(client, ann, token.upper(), status=200)
    assert again["id"] == first["id"]
    android = await register(client, ann, provider="fcm")
    assert await device_ids(client, ann) == {first["id"], android["id"]}
    shown = await client.get(f"{DEVICES}/{first['id']}", headers=h(ann))
    assert shown.status_code == 200 and shown.headers["etag"]
    gone = await client.delete(f"{DEVICES}/{first['id']}", headers=h(ann))
    assert gone.status_code == 204
    assert await device_ids(client, ann) == {android["id"]}
    assert (await client.delete(DEVICES, headers=h(ann))).status_code == 204
    assert await device_ids(client, ann) == set()


async def test_a_token_moves_to_whoever_registers_it(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bob = await make_user(), await make_user()
    token = fcm_token()
    anns = await register(client, ann, token, provider="fcm")
    bobs = await register(client, bob, token, provider="fcm")  # a shared phone
    assert bobs["id"] != anns["id"]
    assert await device_ids(client, ann) == set()
    assert await device_ids(client, bob) == {bobs["id"]}


async def test_nobody_else_sees_or_removes_a_device(
    client: httpx.AsyncClient, make_user: MakeUser, third_party: str
) -> None:
    ann, stranger = await make_user(), await make_user()
    device = await register(client, ann)
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"{DEVICES}/{device['id']}", headers=h(stranger))
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/device-not-found"
    await client.delete(DEVICES, headers=h(stranger))
    assert await device_ids(client, ann) == {device["id"]}
    third = h(ann, client_id=third_party)
    body = {"token": apns_token(), "provider": "apns", "platform": "ios"}
    for response in (
        await client.post(DEVICES, json=body, headers=third),
        await client.get(DEVICES, headers=third),
        await client.get(f"{DEVICES}/{device['id']}", headers=third),
        await client.delete(f"{DEVICES}/{device['id']}", headers=third),
        await client.delete(DEVICES, headers=third),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "/problems/first-party-only"
    assert await device_ids(client, ann) == {device["id"]}
    assert (await client.get(DEVICES)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"token": apns_token(), "provider": "apns", "platform": "android"},
        {"token": "zz" * 32, "provider": "apns", "platform": "ios"},
        {"token": "short", "provider": "fcm", "platform": "android"},
        {"token": "a b" * 20, "provider": "fcm", "platform": "android"},
        {"token": apns_token(), "provider": "webpush", "platform": "ios"},
        {"token": apns_token(), "provider": "apns", "platform": "ios", "locale": "not a locale"},
        {"token": apns_token(), "provider": "apns", "platform": "ios", "extra": 1},
    ],
)
async def test_bad_registrations_are_problems(
    client: httpx.AsyncClient, make_user: MakeUser, body: dict[str, object]
) -> None:
    ann = await make_user()
    response = await client.post(DEVICES, json=body, headers=h(ann))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_revoking_the_session_removes_its_devices(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    tokens = await sign_in(app, ann, "rapport-mobile")
    body = {"token": apns_token(), "provider": "apns", "platform": "ios"}
    signed_in = await client.post(DEVICES, json=body, headers=bearer(tokens["access_token"]))
    assert signed_in.status_code == 201, signed_in.text
    other = await register(client, ann, session_id=str(uuid.uuid4()))
    revoked = await client.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "rapport-mobile"}
    )
    assert revoked.status_code == 200
    assert await device_ids(client, ann) == {other["id"]}


async def test_revoking_one_family_leaves_other_people_alone(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann, bob = await make_user(), await make_user()
    family = uuid.uuid4()
    await register(client, ann, session_id=str(family))
    bobs = await register(client, bob, session_id=str(uuid.uuid4()))
    async with sessionmaker() as session, session.begin():
        await session.run_sync(lambda sync: store.revoke_family(sync, family))
    assert await device_ids(client, ann) == set()
    assert await device_ids(client, bob) == {bobs["id"]}


async def test_a_password_change_removes_every_device(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann, bob = await make_user(), await make_user()
    await register(client, ann, session_id=str(uuid.uuid4()))
    await register(client, ann, provider="fcm")
    bobs = await register(client, bob)
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": ann.password, "new_password": "a new and long passphrase 42"},
        headers=h(ann),
    )
    assert changed.status_code == 204, changed.text
    assert await device_ids(client, bob) == {bobs["id"]}
    assert await _count_devices(sessionmaker, ann.id) == 0  # her old tokens are refused now


async def test_a_safety_exit_removes_every_device(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    await register(client, ann)
    await register(client, ann, provider="fcm")
    done = await client.post("/v1/me/safety-exit", json={}, headers=h(ann))
    assert done.status_code == 200, done.text
    assert await _count_devices(sessionmaker, ann.id) == 0


async def _count_devices(sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(Device.user_id == user_id)) or 0)


async def test_erasure_removes_every_device(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann, bob = await make_user(), await make_user()
    await register(client, ann)
    await register(client, bob)
    async with sessionmaker() as session, session.begin():
        await erase_account(session, ann.id, utcnow())
    assert await _count_devices(sessionmaker, ann.id) == 0
    assert await _count_devices(sessionmaker, bob.id) == 1


async def test_revoking_one_access_token_leaves_the_device(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    session_id = str(uuid.uuid4())
    device = await register(client, ann, session_id=session_id)
    access = h(ann, session_id=session_id)["Authorization"].removeprefix("Bearer ")
    revoked = await client.post(
        "/oauth/revoke", data={"token": access, "client_id": "rapport-mobile"}
    )
    assert revoked.status_code == 200
    assert await device_ids(client, ann) == {device["id"]}  # the session lives on
