"""The SSRF guard: only globally routable addresses, checked at delivery time."""

from __future__ import annotations

import ipaddress
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.delivery import ssrf
from app.delivery.dispatcher import Dispatcher
from app.models.webhooks import WebhookAttempt, WebhookEndpoint
from tests.webhooks_support import Partner, PointNames, dev_settings

LOOPBACK = ssrf.parse_networks("127.0.0.0/8")


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[::ffff:7f00:1]/hooks",
        "https://localhost/hooks",
        "https://100.64.0.1/hooks",
        "https://[fc00::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",
        "https://240.0.0.1/hooks",
        "https://192.168.1.1/hooks",
        "https://[2002:7f00:1::]/hooks",
        "https://[64:ff9b::a00:1]/hooks",
        "https://167772161/hooks",
        "https://0xa9fea9fe/hooks",
        "https://0/hooks",
        "https://0177.0.0.1/hooks",
        "https://127.1/hooks",
        "https://0x7f.0.0.1/hooks",
        "https://127.0.0.1./hooks",
    ],
)
async def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(ssrf.UnsafeURL):
        await ssrf.resolve(url, allow_http=False)


async def test_the_allowlist_admits_loopback_for_development(point_names: PointNames) -> None:
    target = await ssrf.resolve("http://127.0.0.1:8080/x?a=1", allow_http=True, allowed=LOOPBACK)
    assert target.address == ipaddress.ip_address("127.0.0.1")
    point_names({"hooks.example.org": ["127.0.0.1", "127.0.0.2"]})
    named = await ssrf.resolve("http://hooks.example.org:8080/x", allow_http=True, allowed=LOOPBACK)
    assert named.hostname == "hooks.example.org" and named.port == 8080
    assert [str(a) for a in named.addresses] == ["127.0.0.1", "127.0.0.2"]
    with pytest.raises(ssrf.UnsafeURL):  # the allowlist does not cover ::1 or other ranges
        await ssrf.resolve("http://[::1]:8080/x", allow_http=True, allowed=LOOPBACK)
    with pytest.raises(ssrf.UnsafeURL, match="local name"):  # nor local names
        await ssrf.resolve("http://localhost:8080/x", allow_http=True, allowed=LOOPBACK)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("167772161", "10.0.0.1"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0", "0.0.0.0"),  # noqa: S104 — an address read, not bound
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.1", "10.1.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_numeric_hosts_are_read_as_resolvers_read_them(host: str, address: str) -> None:
    assert ssrf.literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.org", "08.0.0.1", "1.2.3.256", "256.1.1.1"])
def test_other_hosts_are_not_numeric_addresses(host: str) -> None:
    assert ssrf.numeric_ipv4(host) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://167772161/", "must reach a public address"),
        ("https://0xa9fea9fe/", "must reach a public address"),
        ("https://0/", "must reach a public address"),
        ("https://0177.0.0.1/", "must reach a public address"),
        ("https://127.1/", "must reach a public address"),
        ("https://134744072/", "must write an IPv4 address as four decimal numbers (a.b.c.d)"),
        ("https://1.2.3.999/", "is not a valid host"),
        ("https://localhost/", "must name a public host, not a local name"),
        ("https://LocalHost./", "must name a public host, not a local name"),
        ("https://api.localhost/", "must name a public host, not a local name"),
        ("https://printer.local/", "must name a public host, not a local name"),
        ("https://metadata.google.internal/", "must name a public host, not a local name"),
        ("https://intranet/", "must name a public host, not a local name"),
    ],
)
async def test_registration_refuses_numeric_spellings_and_local_names(
    client: httpx.AsyncClient, partner: Partner, db: AsyncSession, url: str, problem: str
) -> None:
    response = await client.post(
        "/v1/webhooks/endpoints", json={"url": url}, headers=partner.headers()
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"pointer": "#/url", "detail": problem}]
    assert await db.scalar(select(WebhookEndpoint)) is None


async def test_public_names_and_addresses_are_registered(
    client: httpx.AsyncClient, partner: Partner
) -> None:
    for url in ("https://hooks.example.org/x", "https://8.8.8.8/x", "https://[2001:4860::8888]/"):
        response = await client.post(
            "/v1/webhooks/endpoints", json={"url": url}, headers=partner.headers()
        )
        assert response.status_code == 201, response.text


async def test_a_name_with_one_private_address_is_refused_at_delivery_without_detail(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    db: AsyncSession,
    point_names: PointNames,
) -> None:
    point_names({"hooks.example.org": ["93.184.215.14", "10.0.0.7"]})
    created = await client.post(
        "/v1/webhooks/endpoints",
        json={"url": "https://hooks.example.org/x"},
        headers=partner.headers(),
    )
    endpoint_id = created.json()["id"]
    await client.post(f"/v1/webhooks/endpoints/{endpoint_id}/test", headers=partner.headers())
    strict = Dispatcher(sessionmaker, dev_settings(test_settings, webhook_allowed_networks=""))
    try:
        await strict.run_once()
    finally:
        await strict.aclose()
    attempt = await db.scalar(select(WebhookAttempt))
    assert attempt is not None and attempt.status_code is None
    assert attempt.error == (
        "refused: address not allowed: hooks.example.org resolves to a non-public address"
    )
    assert "10.0.0.7" not in attempt.error and "93.184" not in attempt.error
    listed = await client.get(
        f"/v1/webhooks/deliveries/{attempt.delivery_id}/attempts", headers=partner.headers()
    )
    assert "10.0.0.7" not in listed.text


async def test_http_needs_the_setting() -> None:
    with pytest.raises(ssrf.UnsafeURL, match="https"):
        await ssrf.resolve("http://127.0.0.1/x", allow_http=False, allowed=LOOPBACK)


def test_public_addresses_pass() -> None:
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"):
        assert ssrf.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    ["https://u:p@example.org/", "https://example.org:0/", "https://example.org:99999/", "x"],
)
def test_urls_are_checked_at_registration(url: str) -> None:
    assert ssrf.check_url(url, allow_http=False) is not None


async def test_a_numeric_spelling_stored_before_the_check_is_refused_at_delivery(
    client: httpx.AsyncClient,
    partner: Partner,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    db: AsyncSession,
) -> None:
    created = await client.post(
        "/v1/webhooks/endpoints", json={"url": "https://8.8.8.8/x"}, headers=partner.headers()
    )
    endpoint_id = created.json()["id"]
    async with sessionmaker() as session, session.begin():
        endpoint = await session.get(WebhookEndpoint, uuid.UUID(endpoint_id))
        assert endpoint is not None
        endpoint.url = "http://2130706433:9/x"  # 127.0.0.1, written as one number
    await client.post(f"/v1/webhooks/endpoints/{endpoint_id}/test", headers=partner.headers())
    worker = Dispatcher(sessionmaker, dev_settings(test_settings))  # loopback allowed
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
    attempt = await db.scalar(select(WebhookAttempt))
    assert attempt is not None and attempt.status_code is None
    assert attempt.error is not None and attempt.error.startswith("refused: the URL must")
