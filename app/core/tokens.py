"""RFC 9068 JWT access tokens: issued by the authorization server, verified in memory."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from app.core.keys import SUPPORTED_ALGORITHMS, KeyRing, key_algorithm

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
CLOCK_SKEW_SECONDS = 30
VERIFIED_CACHE_SIZE = 4096


class InvalidToken(Exception):
    """The token is malformed, forged, expired, revoked or not meant for this API."""


class RevocationCheck(Protocol):
    def is_revoked(self, claims: AccessTokenClaims) -> bool: ...


def new_token_id(issued_ms: int) -> str:
    """A `jti` that is a UUIDv7 (RFC 9562): its first 48 bits are the issue time in ms.

    `iat` counts whole seconds; revocation needs to tell a token issued just before it from
    one issued just after, in the same second.
    """
    random_bits = secrets.randbits(80) & ~(0xF << 76 | 0x3 << 62)  # room for version, variant
    value = (issued_ms & (2**48 - 1)) << 80 | random_bits | 0x7 << 76 | 0x2 << 62
    return uuid.UUID(int=value).hex


def issued_ms(jti: str, issued_at: int) -> int:
    """When a token was issued, in ms: from a UUIDv7 `jti`, else the start of its `iat` second."""
    if len(jti) == 32 and jti[12] == "7":
        try:
            return int(jti[:12], 16)
        except ValueError:
            pass
    return issued_at * 1000


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    subject: str
    client_id: str
    scopes: frozenset[str]
    jti: str
    issued_at: int
    expires_at: int
    user_id: uuid.UUID | None
    session_id: str | None = None
    """`sid`: the refresh-token family the token was issued from, if any."""

    @property
    def issued_ms(self) -> int:
        return issued_ms(self.jti, self.issued_at)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> AccessTokenClaims:
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise InvalidToken("scope must be a string")
        subject = claims["sub"]
        client_id = claims["client_id"]
        user_id: uuid.UUID | None = None
        # RFC 9068 §2.2: for a client acting on its own behalf, sub is the client id.
        if subject != client_id:
            try:
                user_id = uuid.UUID(subject)
            except ValueError as exc:
                raise InvalidToken("sub is neither a user nor the client") from exc
        session_id = claims.get("sid")
        return cls(
            subject=subject,
            client_id=client_id,
            scopes=frozenset(scope.split()),
            jti=claims["jti"],
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            user_id=user_id,
            session_id=session_id if isinstance(session_id, str) else None,
        )


class TokenService:
    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        revocations: RevocationCheck | None = None,
    ) -> None:
        self.keys = keys
        self.revocations = revocations
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._verified: OrderedDict[str, tuple[AccessTokenClaims, str]] = OrderedDict()
        self._registry = JWTClaimsRegistry(
            leeway=CLOCK_SKEW_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            client_id={"essential": True},
            jti={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        scope: str,
        now: int | None = None,
        session_id: str | None = None,
    ) -> tuple[str, int]:
        """Sign an access token; returns it with its lifetime in seconds."""
        now_ms = time.time_ns() // 1_000_000 if now is None else now * 1000
        issued = now_ms // 1000
        key = self.keys.signing_key
        header = {"alg": key_algorithm(key), "typ": ACCESS_TOKEN_TYPE, "kid": str(key.kid)}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "client_id": client_id,
            "scope": scope,
            "iat": issued,
            "exp": issued + self.ttl_seconds,
            "jti": new_token_id(now_ms),
        }
        if session_id is not None:
            claims["sid"] = session_id
        return jwt.encode(header, claims, key), self.ttl_seconds

    def peek_kid(self, token: str) -> str | None:
        try:
            header = jws.extract_compact(token.encode()).headers()
        except Exception:
            return None
        kid = header.get("kid")
        return kid if isinstance(kid, str) else None

    def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims when it is valid now; InvalidToken otherwise.

        Apps send the same token with every request for its whole life, so verified claims
        are kept (a bounded LRU keyed by the token itself) and only their expiry and signing
        key are re-checked: the signature is checked once per token and process. Revocation
        is asked every time, of an in-memory set (`app.core.revocation`).
        """
        claims = self._verify_cached(token)
        if self.revocations is not None and self.revocations.is_revoked(claims):
            raise InvalidToken("the token was revoked")
        return claims

    def _verify_cached(self, token: str) -> AccessTokenClaims:
        cached = self._verified.get(token)
        if cached is not None:
            claims, kid = cached
            if claims.expires_at + CLOCK_SKEW_SECONDS > time.time() and kid in self.keys.verifying:
                self._verified.move_to_end(token)
                return claims
            del self._verified[token]
        claims, kid = self._verify_signed(token)
        self._verified[token] = (claims, kid)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _verify_signed(self, token: str) -> tuple[AccessTokenClaims, str]:
        try:
            decoded = jwt.decode(token, self.keys.key_set(), algorithms=list(SUPPORTED_ALGORITHMS))
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
        if decoded.header.get("typ", "").lower() not in (ACCESS_TOKEN_TYPE, "application/at+jwt"):
            raise InvalidToken("not an access token")
        try:
            self._registry.validate(decoded.claims)
            return AccessTokenClaims.from_claims(decoded.claims), str(decoded.header.get("kid"))
        except (JoseError, KeyError, ValueError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
