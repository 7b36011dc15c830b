"""Helpers for the push tests: device tokens, registering them, and reading deliveries."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.push import PushDelivery
from app.push.base import LogSender, Sent
from app.push.senders import Senders
from app.services.notifications_events import push_events
from app.services.notifications_send import send_due
from tests.conftest import Person

DEVICES = "/v1/me/devices"
SETTINGS = "/v1/me/notification-settings"
ALL_SCOPES = (
    "profile",
    "couple:read",
    "couple:write",
    "prompts:read",
    "answers:read",
    "answers:write",
    "checkins:read",
    "checkins:write",
    "checkins:private",
    "journal:read",
    "journal:write",
    "repair:read",
    "repair:write",
)


def apns_token() -> str:
    return secrets.token_hex(32)


def fcm_token() -> str:
    return "f" + secrets.token_urlsafe(120)


def h(
    person: Person, client_id: str = "rapport-mobile", session_id: str | None = None
) -> dict[str, str]:
    access, _ = person.app.state.tokens.issue(
        subject=str(person.id),
        client_id=client_id,
        scope=" ".join(ALL_SCOPES),
        session_id=session_id,
    )
    return {"Authorization": f"Bearer {access}"}


async def register(
    client: httpx.AsyncClient,
    person: Person,
    token: str | None = None,
    *,
    provider: str = "apns",
    session_id: str | None = None,
    status: int = 201,
) -> dict[str, Any]:
    body = {
        "token": token or (apns_token() if provider == "apns" else fcm_token()),
        "provider": provider,
        "platform": "ios" if provider == "apns" else "android",
        "app_version": "1.4.0",
        "locale": "en-GB",
    }
    response = await client.post(DEVICES, json=body, headers=h(person, session_id=session_id))
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


async def device_ids(client: httpx.AsyncClient, person: Person) -> set[str]:
    response = await client.get(DEVICES, headers=h(person))
    assert response.status_code == 200, response.text
    return {device["id"] for device in response.json()["data"]}


async def deliveries(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID | None = None
) -> list[PushDelivery]:
    async with sessionmaker() as session:
        statement = select(PushDelivery).order_by(PushDelivery.created_at, PushDelivery.key)
        if user_id is not None:
            statement = statement.where(PushDelivery.user_id == user_id)
        return list(await session.scalars(statement))


Sessions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def transaction(sessionmaker: Sessions) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session, session.begin():
        yield session


def log_senders() -> Senders:
    return Senders(LogSender("apns"), LogSender("fcm"))


def sent(senders: Senders) -> list[Sent]:
    assert isinstance(senders.apns, LogSender) and isinstance(senders.fcm, LogSender)
    return [*senders.apns.sent, *senders.fcm.sent]


async def run_pushes(sessionmaker: Sessions, senders: Senders, now: datetime) -> int:
    """Queue the pushes events call for, then send what is due."""
    async with transaction(sessionmaker) as session:
        await push_events(session, now, 100)
    return await send_due(sessionmaker, senders, now)
