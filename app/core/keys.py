"""Access-token signing keys: generated on first start, persisted, rotated, published.

Verification needs no database round trip: the public keys live in memory. A token signed
by a key this process has not seen yet (another worker rotated) triggers one throttled reload.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.base import utcnow
from app.models.oauth import SigningKey

SUPPORTED_ALGORITHMS = ("ES256", "RS256")
RELOAD_THROTTLE_SECONDS = 10.0

AnyKey = ECKey | RSAKey


def generate_key(algorithm: str = "ES256") -> AnyKey:
    params: dict[str, Any] = {"alg": algorithm, "use": "sig"}
    key: AnyKey
    if algorithm == "ES256":
        key = ECKey.generate_key("P-256", parameters=params, private=True)  # type: ignore[arg-type]
    elif algorithm == "RS256":
        key = RSAKey.generate_key(2048, parameters=params, private=True)  # type: ignore[arg-type]
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm}")
    key.ensure_kid()
    return key


def import_private_key(material: str) -> AnyKey:
    """A private key given in settings, as a JWK (JSON) or PEM."""
    text = material.strip()
    key: AnyKey
    if text.startswith("{"):
        data = json.loads(text)
        key = ECKey.import_key(data) if data.get("kty") == "EC" else RSAKey.import_key(data)
    elif "EC PRIVATE KEY" in text or "BEGIN PRIVATE KEY" in text:
        try:
            key = ECKey.import_key(text)
        except Exception:
            key = RSAKey.import_key(text)
    else:
        key = RSAKey.import_key(text)
    if not key.is_private:
        raise ValueError("the signing key must be a private key")
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    key = type(key).import_key(key.as_dict(private=True), {"alg": alg, "use": "sig"})
    key.ensure_kid()
    return key


def key_algorithm(key: AnyKey) -> str:
    return "ES256" if isinstance(key, ECKey) else "RS256"


@dataclass
class KeyRing:
    """The signing key in use and every public key whose tokens may still be alive."""

    access_token_ttl: timedelta
    signing: AnyKey | None = None
    verifying: dict[str, AnyKey] = field(default_factory=dict)
    _last_reload: float = 0.0

    @property
    def signing_key(self) -> AnyKey:
        if self.signing is None:
            raise RuntimeError("the key ring is not loaded")
        return self.signing

    def key_set(self) -> KeySet:
        return KeySet(list(self.verifying.values()))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self.verifying.values()]}

    def use_static_key(self, key: AnyKey) -> None:
        self.signing = key
        self.verifying = {str(key.kid): key}

    async def load(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        rotate_after: timedelta | None = None,
    ) -> None:
        """Load keys from the database, creating (or rotating in) a signing key when due."""
        async with sessionmaker() as session, session.begin():
            rows = await self._live_rows(session)
            current = next((r for r in rows if r.retired_at is None), None)
            if current is None or (
                rotate_after is not None and utcnow() - current.created_at >= rotate_after
            ):
                if current is not None:
                    current.retired_at = utcnow()
                fresh = generate_key()
                current = SigningKey(
                    kid=str(fresh.kid),
                    algorithm=key_algorithm(fresh),
                    private_jwk=json.dumps(fresh.as_dict(private=True)),
                    public_jwk=json.dumps(fresh.as_dict(private=False)),
                )
                session.add(current)
                await session.flush()
                rows = await self._live_rows(session)
        self._install(rows)

    async def reload_if_unknown(
        self, kid: str, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> bool:
        """Pick up keys another process created; at most once per throttle period."""
        if kid in self.verifying:
            return True
        now = time.monotonic()
        if now - self._last_reload < RELOAD_THROTTLE_SECONDS:
            return False
        self._last_reload = now
        async with sessionmaker() as session:
            rows = await self._live_rows(session)
        self._install(rows, keep_signing=True)
        return kid in self.verifying

    async def _live_rows(self, session: AsyncSession) -> list[SigningKey]:
        # A retired key stays published while tokens it signed can still be valid.
        horizon = utcnow() - self.access_token_ttl - timedelta(minutes=5)
        result = await session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc()))
        return [r for r in result if r.retired_at is None or r.retired_at > horizon]

    def _install(self, rows: list[SigningKey], *, keep_signing: bool = False) -> None:
        verifying: dict[str, AnyKey] = {}
        signing: AnyKey | None = None
        for row in rows:
            data = json.loads(row.private_jwk)
            key: AnyKey = ECKey.import_key(data) if data["kty"] == "EC" else RSAKey.import_key(data)
            verifying[row.kid] = key
            if row.retired_at is None and signing is None:
                signing = key
        if keep_signing and self.signing is not None:
            verifying.setdefault(str(self.signing.kid), self.signing)
        else:
            self.signing = signing
        self.verifying = verifying
