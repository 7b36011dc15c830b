"""argon2id password hashing, off the event loop (a hash costs tens of milliseconds of CPU).

One `Passwords` is built per application from its settings (`app.state.passwords`) and handed
to the services that hash or check a password, so an app's cost parameters are its own.
"""

from __future__ import annotations

from functools import cached_property

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import Settings

# Verifying against this when an account does not exist keeps the timing the same,
# so a sign-in failure never reveals whether an email is registered.
_DUMMY_PASSWORD = "rapport-timing-equaliser"  # noqa: S105 - not a credential


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash(_DUMMY_PASSWORD)

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_sync(self, password_hash: str | None, password: str) -> bool:
        try:
            return (
                self._hasher.verify(password_hash or self._dummy_hash, password)
                and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash_sync, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await anyio.to_thread.run_sync(self.verify_sync, password_hash, password)
