"""Refuse to deliver webhooks anywhere but the public internet.

A URL is checked when an endpoint is registered (scheme, credentials, port, literal
addresses) and again at every delivery: every A and AAAA address the host resolves to must be
globally routable (or inside `RAPPORT_WEBHOOK_ALLOWED_NETWORKS`), and the connection then goes
to the address that was checked, so a DNS answer that changes in between (rebinding) cannot
redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """A webhook URL or address we refuse to reach."""


def parse_networks(text: str) -> list[IPNetwork]:
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    ]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = address.packed
    if packed[:12] == bytes(12) and int(address) > 1:  # IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in _CGNAT
    ):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False
    return address.is_global


def is_allowed(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> bool:
    if any(address.version == net.version and address in net for net in allowed):
        return True
    return is_public(address)


def check_url(url: str, *, allow_http: bool) -> str | None:
    """Why this URL cannot be a webhook endpoint (at registration), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return "must use https" if not allow_http else "must use https or http"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain credentials"
    if not parts.hostname:
        return "must name a host"
    if port is not None and not 1 <= port <= 65535:
        return "has an invalid port"
    if parts.fragment:
        return "must not contain a fragment"
    return None


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect: the vetted address, and the name for Host and TLS SNI."""

    hostname: str
    address: IPAddress
    port: int
    scheme: str

    def url_for(self, url: str) -> str:
        parts = urlsplit(url)
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{host}:{self.port}"
        path = parts.path or "/"
        return f"{self.scheme}://{netloc}{path}" + (f"?{parts.query}" if parts.query else "")

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return name if self.port == default else f"{name}:{self.port}"


async def resolve(url: str, *, allow_http: bool, allowed: Sequence[IPNetwork] = ()) -> Target:
    """Resolve the URL's host now and vet every address; raise UnsafeURL when any is unsafe."""
    problem = check_url(url, allow_http=allow_http)
    if problem:
        raise UnsafeURL(f"the URL {problem}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise UnsafeURL(f"cannot resolve {host}: {error}") from None
        addresses = []
        for info in infos:
            raw = str(info[4][0]).split("%", 1)[0]
            address = ipaddress.ip_address(raw)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise UnsafeURL(f"{host} has no address")
    refused = [str(a) for a in addresses if not is_allowed(a, allowed)]
    if refused:
        raise UnsafeURL(f"{host} resolves to a non-public address ({', '.join(refused)})")
    return Target(hostname=host, address=addresses[0], port=port, scheme=parts.scheme)
