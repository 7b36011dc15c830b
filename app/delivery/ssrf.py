"""Refuse to deliver webhooks anywhere but the public internet.

A URL is checked when an endpoint is registered (scheme, credentials, port, literal
addresses, local names) and again at every delivery: every A and AAAA address the host
resolves to must be globally routable (or inside `RAPPORT_WEBHOOK_ALLOWED_NETWORKS`), and the
connection then goes to an address that was checked, so a DNS answer that changes in between
(rebinding) cannot redirect it.

Hosts spelled as numbers other than a.b.c.d (`167772161`, `0xa9fea9fe`, `0177.0.0.1`,
`127.1`) are read the way resolvers and browsers read them (inet_aton), so they cannot slip a
private address past the check; names that only mean something locally (`localhost`,
`*.localhost`, `*.local`, `*.internal`, single labels) are refused whatever they resolve to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMBER = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")
NOT_ALLOWED = "address not allowed"


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


def _number(part: str) -> int | None:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if set(part) <= set("01234567") else None
    return int(part)


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written in numbers means to inet_aton and the URL standard:
    one to four parts, each decimal, 0x-hex or 0-led octal, the last filling what is left."""
    parts = host.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.fullmatch(part) for part in parts):
        return None
    values = [_number(part) for part in parts]
    *head, last = values
    if last is None or any(v is None or v > 255 for v in head):
        return None
    if last >= 256 ** (5 - len(values)):
        return None
    number = sum(v << (8 * (3 - i)) for i, v in enumerate(head) if v is not None) + last
    return ipaddress.IPv4Address(number)


def is_local_name(host: str) -> bool:
    name = host.removesuffix(".").lower()
    return name == "localhost" or "." not in name or name.endswith(_LOCAL_SUFFIXES)


def _check_host(host: str) -> str | None:
    if ":" in host:
        return None  # an IPv6 literal: urlsplit validated it, the address check follows
    numeric = numeric_ipv4(host)
    if numeric is not None:
        if host == str(numeric):
            return None  # a.b.c.d: the address check (which knows the allowlist) follows
        if not is_public(numeric):
            return "must reach a public address"
        return "must write an IPv4 address as four decimal numbers (a.b.c.d)"
    if _NUMBER.fullmatch(host.removesuffix(".").rsplit(".", 1)[-1]):
        return "is not a valid host"  # numbers that make no address, such as 1.2.3.999
    if is_local_name(host):
        return "must name a public host, not a local name"
    return None


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
    return _check_host(parts.hostname)


def literal_address(host: str) -> IPAddress | None:
    """The address a host is written as (in any spelling `numeric_ipv4` reads), or None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return numeric_ipv4(host)


Lookup = Callable[[str, int], Awaitable[list[IPAddress]]]


async def system_lookup(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for the host, in its order, without repeats."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


lookup: Lookup = system_lookup
"""How names are resolved; tests point names at local receivers by replacing it."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect: the vetted addresses, in the resolver's order, and the URL's host
    name, which stays the name for Host, TLS SNI and certificate verification."""

    hostname: str
    addresses: tuple[IPAddress, ...]
    port: int
    scheme: str

    @property
    def address(self) -> IPAddress:
        return self.addresses[0]


async def resolve(url: str, *, allow_http: bool, allowed: Sequence[IPNetwork] = ()) -> Target:
    """Resolve the URL's host now and vet every address; raise UnsafeURL when any is unsafe.

    A refusal says "address not allowed" and never which address a name resolved to: the
    delivery log is shown to the endpoint's owner, who must not learn our network's map.
    """
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
        try:
            addresses = await lookup(host, port)
        except (OSError, UnicodeError) as error:
            raise UnsafeURL(f"cannot resolve {host}: {error}") from None
        if not addresses:
            raise UnsafeURL(f"{host} has no address")
    if literal is not None and not is_allowed(literal, allowed):
        raise UnsafeURL(f"{NOT_ALLOWED}: {host} is not a public address")
    if not all(is_allowed(a, allowed) for a in addresses):
        raise UnsafeURL(f"{NOT_ALLOWED}: {host} resolves to a non-public address")
    return Target(hostname=host, addresses=tuple(addresses), port=port, scheme=parts.scheme)
