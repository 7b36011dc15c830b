"""Redirect-URI facts shared by client registration and the authorization server."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_redirect(uri: str) -> bool:
    """An http redirect to a loopback IP literal: a native app's local listener (RFC 8252 §7.3)."""
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname is None:
        return False
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False
