"""argon2id password hashing, off the event loop (a hash costs tens of milliseconds of CPU)."""

from __future__ import annotations

from functools import lru_cache

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import get_settings

# Verifying against this when an account does not exist keeps the timing the same,
# so a sign-in failure never reveals whether an email is registered.
_DUMMY_PASSWORD = "rapport-timing-equaliser"  # noqa: S105 - not a credential


@lru_cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=1,
    )


@lru_cache
def _dummy_hash() -> str:
    return _hasher().hash(_DUMMY_PASSWORD)


def hash_password_sync(password: str) -> str:
    return _hasher().hash(password)


def verify_password_sync(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password_sync, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(verify_password_sync, password_hash, password)
