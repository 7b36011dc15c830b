"""The APNs and FCM senders against local HTTP/2 servers that answer like Apple's and
Google's: signed provider tokens and service-account assertions, cached bearer tokens, dead
tokens pruning their device, and throttling backing off instead of retrying at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.push import DeliveryState, NotificationKind
from app.push.apns import APNsConfig, APNsSender
from app.push.base import Outcome, PushMessage
from app.push.fcm import FCMConfig, FCMSender
from app.push.senders import Senders
from app.services.notifications import message_for, queue
from app.services.notifications_send import send_due
from tests.conftest import MakeUser
from tests.push_servers import FakeAPNs, FakeFCM, H2Server, apns_key, service_account, tls_pair
from tests.push_support import apns_token, deliveries, device_ids, fcm_token, register

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
MESSAGE = PushMessage("Rapport", "Your partner answered today's prompt.", {"kind": "x"}, "k")
Sessions = async_sessionmaker[AsyncSession]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def apns_sender(
    tmp_path: Path, url: str, fake: FakeAPNs, pem: bytes, trust: object, clock: Clock
) -> APNsSender:
    key_file = tmp_path / "AuthKey_TEST.p8"
    key_file.write_bytes(pem)
    config = APNsConfig.from_file(url, key_file, fake.key_id, fake.team_id, fake.topic)
    http = httpx.AsyncClient(http2=True, verify=trust)  # type: ignore[arg-type]
    return APNsSender(config, http=http, clock=clock)


def fcm_sender(
    tmp_path: Path, url: str, account: dict[str, str], trust: object, clock: Clock
) -> FCMSender:
    account_file = tmp_path / "service-account.json"
    account_file.write_text(json.dumps(account))
    config = FCMConfig.from_file(url, account["project_id"], account_file, None)
    http = httpx.AsyncClient(http2=True, verify=trust)  # type: ignore[arg-type]
    return FCMSender(config, http=http, clock=clock)


async def test_apns_signs_with_the_p8_key_and_reads_apples_answers(tmp_path: Path) -> None:
    server_context, trust = tls_pair(tmp_path)
    pem, public = apns_key()
    fake = FakeAPNs(public, "ABC123DEFG", "TEAM456789", "org.rapport.app")
    clock = Clock()
    async with H2Server(fake, server_context) as server:
        sender = apns_sender(tmp_path, server.url, fake, pem, trust, clock)
        token, gone, busy = apns_token(), apns_token(), apns_token()
        fake.gone.add(gone)
        fake.throttled[busy] = 1
        assert (await sender.send(token, MESSAGE)).outcome is Outcome.sent
        assert (await sender.send(token, MESSAGE)).outcome is Outcome.sent
        assert (await sender.send(gone, MESSAGE)).outcome is Outcome.unregistered
        throttled = await sender.send(busy, MESSAGE)
        assert throttled.outcome is Outcome.retry and throttled.retry_after == 120
        clock.now += 41 * 60
        assert (await sender.send(token, MESSAGE)).outcome is Outcome.sent
        await sender.aclose()
    first, second, *_, last = server.requests
    assert ":scheme" in first.headers  # HTTP/2 pseudo-headers: it spoke h2
    assert first.headers["authorization"] == second.headers["authorization"]  # cached
    assert last.headers["authorization"] != first.headers["authorization"]  # renewed
    _, headers, payload = fake.delivered[0]
    assert headers["apns-collapse-id"] == "k" and headers["apns-priority"] == "10"
    assert payload == {
        "aps": {"alert": {"title": "Rapport", "body": MESSAGE.body}, "sound": "default"},
        "kind": "x",
    }
    pem_other, _ = apns_key()  # a key Apple does not know: refused, not sent
    async with H2Server(fake, server_context) as server:
        impostor = apns_sender(tmp_path, server.url, fake, pem_other, trust, clock)
        refused = await impostor.send(token, MESSAGE)
        assert refused.outcome is Outcome.failed and refused.reason == "InvalidProviderToken"
        await impostor.aclose()


async def test_fcm_exchanges_an_assertion_and_caches_the_token(tmp_path: Path) -> None:
    server_context, trust = tls_pair(tmp_path)
    clock = Clock()
    fake = FakeFCM(public_key=None, client_email="", project_id="rapport-test")  # type: ignore[arg-type]
    async with H2Server(fake, server_context) as server:
        fake.token_url = f"{server.url}/token"
        account, public = service_account(fake.token_url, fake.project_id)
        fake.public_key, fake.client_email = public, account["client_email"]
        sender = fcm_sender(tmp_path, server.url, account, trust, clock)
        token, dead, busy, down = fcm_token(), fcm_token(), fcm_token(), fcm_token()
        fake.unregistered.add(dead)
        fake.throttled[busy] = 1
        fake.unavailable[down] = 1
        assert (await sender.send(token, MESSAGE)).outcome is Outcome.sent
        assert (await sender.send(token, MESSAGE)).outcome is Outcome.sent
        assert len(fake.issued) == 1  # one token for both sends
        assert (await sender.send(dead, MESSAGE)).outcome is Outcome.unregistered
        throttled = await sender.send(busy, MESSAGE)
        assert throttled.outcome is Outcome.retry and throttled.retry_after == 90
        unavailable = await sender.send(down, MESSAGE)
        assert unavailable.outcome is Outcome.retry and unavailable.retry_after == 30
        clock.now += 3600  # expired: a new one
        assert (await sender.send(token, MESSAGE)).outcome is Outcome.sent
        assert len(fake.issued) == 2
        fake.expired.add(fake.issued[-1])  # revoked early on Google's side: fetched again once
        assert (await sender.send(token, MESSAGE)).outcome is Outcome.sent
        assert len(fake.issued) == 3
        await sender.aclose()
    message = fake.delivered[0]
    assert message["notification"] == {"title": "Rapport", "body": MESSAGE.body}
    assert message["data"] == {"kind": "x"} and message["android"]["collapse_key"] == "k"


@pytest.mark.slow  # two servers, a person, five devices: about a second
@pytest.mark.usefixtures("first_party_client")
async def test_dead_tokens_prune_devices_and_throttling_backs_off(
    tmp_path: Path, client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: Sessions
) -> None:
    server_context, trust = tls_pair(tmp_path)
    clock = Clock()
    pem, public = apns_key()
    apple = FakeAPNs(public, "ABC123DEFG", "TEAM456789", "org.rapport.app")
    google = FakeFCM(public_key=None, client_email="", project_id="rapport-test")  # type: ignore[arg-type]
    bo = await make_user()
    gone, busy, fine = apns_token(), apns_token(), apns_token()
    dead, alive = fcm_token(), fcm_token()
    for token in (gone, busy, fine):
        await register(client, bo, token)
    for token in (dead, alive):
        await register(client, bo, token, provider="fcm")
    apple.gone.add(gone)
    apple.throttled[busy] = 1
    google.unregistered.add(dead)
    async with H2Server(apple, server_context) as apns, H2Server(google, server_context) as fcm:
        google.token_url = f"{fcm.url}/token"
        account, rsa_public = service_account(google.token_url, google.project_id)
        google.public_key, google.client_email = rsa_public, account["client_email"]
        senders = Senders(
            apns_sender(tmp_path, apns.url, apple, pem, trust, clock),
            fcm_sender(tmp_path, fcm.url, account, trust, clock),
        )
        async with sessionmaker() as session, session.begin():
            data = {"couple_id": "c", "daily_prompt_id": "d"}
            assert (
                await queue(session, bo.id, NotificationKind.partner_answered, "event:1", data, NOW)
                == 5
            )
        assert await send_due(sessionmaker, senders, NOW) == 5
        left = {d.state for d in await deliveries(sessionmaker, bo.id)}
        assert left == {DeliveryState.sent, DeliveryState.pending}
        assert len(await device_ids(client, bo)) == 3  # the two dead tokens' devices are gone
        (waiting,) = [d for d in await deliveries(sessionmaker) if d.state is DeliveryState.pending]
        assert waiting.next_attempt_at == NOW + timedelta(seconds=120)
        assert await send_due(sessionmaker, senders, NOW + timedelta(seconds=60)) == 0
        assert await send_due(sessionmaker, senders, NOW + timedelta(seconds=120)) == 1
        assert {d.state for d in await deliveries(sessionmaker)} == {DeliveryState.sent}
        await senders.aclose()
    assert len(apple.delivered) == 2 and len(google.delivered) == 1
    expected = message_for(NotificationKind.partner_answered, data, "event:1")
    assert google.delivered[0]["notification"]["body"] == expected.body
