"""What authlib sees of our models: thin adapters, so the models stay free of authlib."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.errors import InvalidScopeError

from app.core.redirects import is_loopback_redirect
from app.core.scopes import client_scopes, ordered, scopes_not_allowed
from app.core.secrets import hashes_match
from app.core.tokens import AccessTokenClaims
from app.models.base import utcnow
from app.models.oauth import AuthorizationCode, OAuthClient, RefreshToken

USER_GRANTS = frozenset({"authorization_code", "refresh_token"})
SECRET_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


def _split(uri: str) -> SplitResult | None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    return parts


def redirect_uri_matches(registered: list[str], requested: str) -> bool:
    """Exact string match, except that loopback redirects may use any port (RFC 8252 §7.3)."""
    if requested in registered:
        return True
    if not is_loopback_redirect(requested):
        return False
    asked = _split(requested)
    if asked is None or asked.username is not None or asked.password is not None or asked.fragment:
        return False
    for uri in registered:
        known = _split(uri)
        if known is None or not is_loopback_redirect(uri):
            continue
        if (known.scheme, known.hostname, known.path, known.query) == (
            asked.scheme,
            asked.hostname,
            asked.path,
            asked.query,
        ):
            return True
    return False


def scope_not_allowed(scopes: list[str]) -> InvalidScopeError:
    """RFC 6749 §3.3: a scope the client may not have is refused, not dropped."""
    named = " ".join(scopes)
    return InvalidScopeError(
        f"This client is not registered for {named}; ask only for scopes it is registered for."
    )


@dataclass(eq=False)
class Client(ClientMixin):  # type: ignore[misc]
    model: OAuthClient

    @property
    def client_id(self) -> str:
        return self.model.client_id

    def get_client_id(self) -> str:
        return self.model.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only an unambiguous registration lets a request omit redirect_uri.
        uris = self.model.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        requested = scope.split() if scope else None
        refused = scopes_not_allowed(self.model, requested)
        if refused:
            raise scope_not_allowed(refused)
        granted = client_scopes(self.model, requested)
        return " ".join(granted) or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri_matches(self.model.redirect_uris, redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return hashes_match(client_secret, self.model.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.model.is_confidential:
            return method in SECRET_AUTH_METHODS
        # Public clients hold no secret; they may not introspect tokens at all.
        return method == "none" and endpoint != "introspection"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and bool(self.model.redirect_uris)

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return self.model.is_confidential
        return grant_type in USER_GRANTS and bool(self.model.redirect_uris)


@dataclass(eq=False)
class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    row: AuthorizationCode

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.row.redirect_uri or None

    def get_scope(self) -> str:
        return self.row.scope


@dataclass(eq=False)
class StoredRefreshToken(TokenMixin):  # type: ignore[misc]
    row: RefreshToken

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.row.expires_at - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.row.rotated_at is not None


@dataclass(eq=False)
class AccessToken(TokenMixin):  # type: ignore[misc]
    """A verified JWT access token: valid until it expires or is revoked (its `jti`, `sid`)."""

    claims: AccessTokenClaims

    def check_client(self, client: Client) -> bool:
        return self.claims.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return " ".join(ordered(self.claims.scopes))

    def get_expires_in(self) -> int:
        return max(0, self.claims.expires_at - int(time.time()))

    def is_expired(self) -> bool:
        return self.claims.expires_at <= int(time.time())

    def is_revoked(self) -> bool:
        return False
