"""The SSRF guard: only globally routable addresses, checked at delivery time."""

from __future__ import annotations

import ipaddress

import pytest

from app.delivery import ssrf

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
    ],
)
async def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(ssrf.UnsafeURL):
        await ssrf.resolve(url, allow_http=False)


async def test_the_allowlist_admits_loopback_for_development() -> None:
    target = await ssrf.resolve("http://127.0.0.1:8080/x?a=1", allow_http=True, allowed=LOOPBACK)
    assert target.address == ipaddress.ip_address("127.0.0.1")
    assert target.url_for("http://127.0.0.1:8080/x?a=1") == "http://127.0.0.1:8080/x?a=1"
    localhost = await ssrf.resolve("http://localhost:8080/x", allow_http=True, allowed=LOOPBACK)
    assert localhost.host_header == "localhost:8080"
    with pytest.raises(ssrf.UnsafeURL):  # the allowlist does not cover ::1 or other ranges
        await ssrf.resolve("http://[::1]:8080/x", allow_http=True, allowed=LOOPBACK)


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
