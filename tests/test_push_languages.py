"""Push text in the device's language, else its owner's; English where Rapport has none.
Every language's text stays neutral: the same kinds, no placeholder for anything written."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.push import NotificationKind
from app.push.base import LogSender
from app.push.senders import Senders
from app.services.notifications import MESSAGES, queue
from app.services.notifications_send import send_due
from tests.conftest import MakeUser
from tests.push_support import DEVICES, apns_token, h

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)


async def test_each_device_reads_its_push_in_its_language(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    bo = await make_user()
    current = await client.get("/v1/me", headers=bo.headers("profile"))
    await client.patch(
        "/v1/me",
        json={"locale": "es-MX"},
        headers={**bo.headers("profile"), "If-Match": current.headers["ETag"]},
    )
    tokens: dict[str | None, str] = {}
    for locale in ("de-DE", "fr", None):
        tokens[locale] = apns_token()
        body = {"token": tokens[locale], "provider": "apns", "platform": "ios", "locale": locale}
        assert (await client.post(DEVICES, json=body, headers=h(bo))).status_code == 201
    async with sessionmaker() as session, session.begin():
        data = {"couple_id": "c", "daily_prompt_id": "d"}
        await queue(session, bo.id, NotificationKind.partner_answered, "event:1", data, NOW)
    apple = LogSender("apns")
    assert await send_due(sessionmaker, Senders(apple, LogSender("fcm")), NOW) == 3
    bodies = {sent.token: sent.message.body for sent in apple.sent}
    kind = NotificationKind.partner_answered
    assert bodies[tokens["de-DE"]] == MESSAGES["de"][kind].body
    assert bodies[tokens["fr"]] == MESSAGES["en"][kind].body  # no French: English
    assert bodies[tokens[None]] == MESSAGES["es"][kind].body  # the owner's locale


def test_every_language_has_a_neutral_text_for_every_kind() -> None:
    for language, texts in MESSAGES.items():
        assert set(texts) == set(NotificationKind), language
        for text in texts.values():
            assert "{" not in text.body and len(text.body) <= 80, (language, text)
