"""OpenID Connect id tokens from Apple and Google, verified against the provider's own keys.

Each provider's discovery document and JWKS are fetched with httpx and cached (JWKS for
`oidc_jwks_max_age_seconds`). A token naming a `kid` the cache does not know fetches the JWKS
again once, but never more often than `oidc_jwks_min_refresh_seconds`: a stream of forged
`kid`s cannot turn Rapport into a load generator against the provider. Signatures are checked
by joserfc with RS256 or ES256 only; then issuer, audience, expiry, issue time (with a small
leeway), subject and, for the browser flow, the nonce.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ["RS256", "ES256"]
HTTP_TIMEOUT = httpx.Timeout(10.0)
MAX_TOKEN_LENGTH = 16_384


class IdTokenError(Exception):
    """The id token cannot be trusted; the message says why, in words safe to show a client."""


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys could not be fetched."""


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    nonce: str | None
    expires_at: int
    token_digest: str
    """SHA-256 of the token, to refuse its second use."""


def _true(value: object) -> bool:
    # Apple sends "true"/"false" strings, Google booleans.
    return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass
class OidcProvider:
    """One provider's discovery document and keys, cached for every request of the process."""

    name: str
    issuer: str
    client_id: str
    audiences: frozenset[str]
    """Accepted `aud` values: the client id, plus native app ids for token exchange."""
    accepted_issuers: frozenset[str]
    leeway: int
    jwks_max_age: int
    jwks_min_refresh: int
    transport: httpx.AsyncBaseTransport | None = None
    monotonic: Callable[[], float] = time.monotonic
    """The clock of the JWKS cache (tests replace it)."""
    _metadata: dict[str, Any] | None = field(default=None, repr=False)
    _keys: KeySet | None = field(default=None, repr=False)
    _fetched_at: float = field(default=float("-inf"), repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    jwks_fetches: int = 0

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=HTTP_TIMEOUT, transport=self.transport)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self.client() as http:
                response = await http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{self.name}: {url} could not be read") from error
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{self.name}: {url} is not a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            document = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(name), str):
                    raise ProviderUnavailable(f"{self.name}: discovery names no {name}")
            self._metadata = document
        return self._metadata

    async def _refresh_keys(self) -> None:
        document = await self._get_json((await self.metadata())["jwks_uri"])
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise ProviderUnavailable(f"{self.name}: the JWKS is malformed") from error
        self.jwks_fetches += 1
        self._keys, self._fetched_at = keys, self.monotonic()

    async def key_set(self, kid: str | None) -> KeySet:
        """The cached keys; fetched again when stale, or once when `kid` is unknown."""
        async with self._lock:
            age = self.monotonic() - self._fetched_at
            stale = self._keys is None or age >= self.jwks_max_age
            unknown = kid is not None and self._keys is not None and not _has_kid(self._keys, kid)
            if stale or (unknown and age >= self.jwks_min_refresh):
                await self._refresh_keys()
            assert self._keys is not None
            return self._keys

    async def verify(self, token: str, *, nonce: str | None = None) -> VerifiedIdentity:
        """Verify an id token; with `nonce`, the token must carry exactly that nonce."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise IdTokenError("The id token is missing or too long.")
        try:
            header = jws.extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeEncodeError) as error:
            raise IdTokenError("The id token is not a signed JWT.") from error
        if header.get("alg") not in ALGORITHMS:
            raise IdTokenError("The id token's signature algorithm is not accepted.")
        kid = header.get("kid")
        keys = await self.key_set(kid if isinstance(kid, str) else None)
        if isinstance(kid, str) and not _has_kid(keys, kid):
            raise IdTokenError("The id token is signed with a key the provider does not publish.")
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise IdTokenError("The id token's signature does not verify.") from error
        claims = decoded.claims
        self._check_claims(claims, nonce)
        email = claims.get("email")
        name = claims.get("name")
        return VerifiedIdentity(
            provider=self.name,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and email else None,
            email_verified=_true(claims.get("email_verified")),
            name=name if isinstance(name, str) and name.strip() else None,
            nonce=claims.get("nonce") if isinstance(claims.get("nonce"), str) else None,
            expires_at=int(claims["exp"]),
            token_digest=hashlib.sha256(token.encode("ascii")).hexdigest(),
        )

    def _check_claims(self, claims: dict[str, Any], nonce: str | None) -> None:
        if claims.get("iss") not in self.accepted_issuers:
            raise IdTokenError("The id token was not issued by this provider.")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not audiences or not all(isinstance(a, str) for a in audiences):
            raise IdTokenError("The id token names no audience.")
        if not self.audiences.intersection(audiences):
            raise IdTokenError("The id token was issued for another app.")
        if len(audiences) > 1 and claims.get("azp") not in self.audiences:
            raise IdTokenError("The id token was issued for another app.")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise IdTokenError("The id token names no subject.")
        now = time.time()
        expires, issued = claims.get("exp"), claims.get("iat")
        if not isinstance(expires, int | float) or not isinstance(issued, int | float):
            raise IdTokenError("The id token lacks exp or iat.")
        if expires + self.leeway <= now:
            raise IdTokenError("The id token has expired.")
        if issued - self.leeway > now:
            raise IdTokenError("The id token was issued in the future.")
        if nonce is not None and claims.get("nonce") != nonce:
            raise IdTokenError("The id token's nonce does not match this sign-in.")


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)
