"""Random tokens and their stored hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """SHA-256 is enough for high-entropy random tokens; passwords use argon2id instead."""
    return hashlib.sha256(token.encode()).hexdigest()


def hashes_match(token: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(token_hash(token), stored_hash)
