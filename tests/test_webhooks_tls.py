"""https deliveries connect to the vetted address while TLS still checks the host's name."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.delivery import sending
from app.delivery.dispatcher import Dispatcher
from app.models.webhooks import WebhookAttempt
from tests.tls_support import self_signed
from tests.webhooks_support import Partner, PointNames, Receiver, dev_settings, running


def _certificate(tmp_path: Path, name_in_cert: str = "hooks.example.org") -> tuple[Path, Path]:
    return self_signed(tmp_path, name_in_cert, x509.DNSName(name_in_cert))


async def _deliver_over_tls(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    cert_path: Path,
    key_path: Path,
) -> tuple[Receiver, list[str | None]]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    seen_sni: list[str | None] = []
    server_context.sni_callback = lambda sock, name, ctx: seen_sni.append(name)
    receiver = Receiver()
    trusting = sending.client(verify=ssl.create_default_context(cafile=str(cert_path)))
    dispatcher = Dispatcher(sessionmaker, dev_settings(test_settings), http=trusting)
    try:
        async with running(receiver, ssl=server_context):
            url = f"https://hooks.example.org:{receiver.port}/hooks"
            created = await client.post(
                "/v1/webhooks/endpoints", json={"url": url}, headers=partner.headers()
            )
            assert created.status_code == 201, created.text
            endpoint_id = created.json()["id"]
            await client.post(
                f"/v1/webhooks/endpoints/{endpoint_id}/test", headers=partner.headers()
            )
            await dispatcher.run_once()
    finally:
        await dispatcher.aclose()
    return receiver, seen_sni


async def test_https_delivery_keeps_the_name_for_sni_and_verification(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tmp_path: Path,
    point_names: PointNames,
) -> None:
    point_names({"hooks.example.org": ["127.0.0.1"]})
    cert_path, key_path = _certificate(tmp_path)
    receiver, seen_sni = await _deliver_over_tls(
        client, partner, sessionmaker, test_settings, cert_path, key_path
    )
    [received] = receiver.requests
    assert json.loads(received.body)["type"] == "webhook.ping"
    assert received.headers["host"] == f"hooks.example.org:{receiver.port}"
    assert seen_sni == ["hooks.example.org"]


async def test_a_certificate_for_another_name_fails_the_attempt(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tmp_path: Path,
    point_names: PointNames,
    db: AsyncSession,
) -> None:
    point_names({"hooks.example.org": ["127.0.0.1"]})
    cert_path, key_path = _certificate(tmp_path, name_in_cert="other.example.org")
    receiver, _ = await _deliver_over_tls(
        client, partner, sessionmaker, test_settings, cert_path, key_path
    )
    assert receiver.requests == []
    attempt = await db.scalar(select(WebhookAttempt))
    assert attempt is not None and attempt.status_code is None
    assert attempt.error is not None and "CERTIFICATE_VERIFY_FAILED" in attempt.error
