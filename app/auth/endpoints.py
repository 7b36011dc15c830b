"""Token revocation (RFC 7009) and introspection (RFC 7662).

Revoking an access token stops it (its `jti`); revoking a refresh token revokes its whole
family, so no new access token can be minted, and stops the access tokens issued from it
(their `sid`). Resource endpoints still verify tokens in memory, without a database lookup:
every process holds the live revocations (`app.core.revocation`), and a revoked token is
refused there too, and introspects as inactive.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from app.auth import store
from app.auth.records import AccessToken, Client, StoredRefreshToken
from app.core.revocation_log import Reason, record_revocation
from app.core.tokens import CLOCK_SKEW_SECONDS, InvalidToken

if TYPE_CHECKING:
    from app.auth.server import OAuthRequest, RapportAuthorizationServer

AnyToken = AccessToken | StoredRefreshToken


class _TokenLookup:
    server: RapportAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> AnyToken | None:
        # A hint is only a hint (RFC 7009 §2.1, RFC 7662 §2.1): every kind is searched.
        if token_string.count(".") == 2:
            try:
                return AccessToken(self.server.tokens.verify(token_string))
            except InvalidToken:
                return None
        row = store.find_refresh_token(self.server.session, token_string)
        return StoredRefreshToken(row) if row is not None else None

    def check_params(self, request: OAuthRequest, client: Client) -> None:
        # Unknown hints are ignored rather than refused, as both RFCs allow.
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token' parameter.")


class RevocationEndpoint(_TokenLookup, _RevocationEndpoint):  # type: ignore[misc]
    """Confidential clients authenticate; public clients name themselves with client_id."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def revoke_token(self, token: AnyToken, request: OAuthRequest) -> None:
        if isinstance(token, StoredRefreshToken):
            store.revoke_family(self.server.session, token.row.family_id)
            return
        claims = token.claims
        record_revocation(
            self.server.session,
            reason=Reason.token_revoked,
            token_id=claims.jti,
            user_id=claims.user_id,
            client_id=claims.client_id,
            expires_at=datetime.fromtimestamp(claims.expires_at + CLOCK_SKEW_SECONDS, UTC),
        )


class IntrospectionEndpoint(_TokenLookup, _IntrospectionEndpoint):  # type: ignore[misc]
    """Only confidential clients introspect: their own tokens, or any token for a first-party
    (resource server) client. Anything else looks inactive: exactly {"active": false}."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def check_permission(self, token: AnyToken, client: Client, request: OAuthRequest) -> bool:
        return bool(token.check_client(client) or client.model.is_first_party)

    def introspect_token(self, token: AnyToken) -> dict[str, Any]:
        issuer = self.server.settings.public_url
        if isinstance(token, AccessToken):
            claims = token.claims
            return {
                "active": True,
                "scope": token.get_scope(),
                "client_id": claims.client_id,
                "sub": claims.subject,
                "exp": claims.expires_at,
                "iat": claims.issued_at,
                "iss": issuer,
                "token_type": "Bearer",
            }
        row = token.row
        return {
            "active": True,
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": str(row.user_id),
            "exp": calendar.timegm(row.expires_at.utctimetuple()),
            "iat": calendar.timegm(row.issued_at.utctimetuple()),
            "iss": issuer,
        }
