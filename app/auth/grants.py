"""The grants Rapport serves: authorization code (+ PKCE S256), refresh token, client credentials.

Not registered, so refused with the standard errors: the implicit grant
(`unsupported_response_type`) and the password grant (`unsupported_grant_type`).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from base64 import urlsafe_b64encode
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc7636 import CodeChallenge

from app.auth import store
from app.auth.records import Code, StoredRefreshToken, scope_not_allowed
from app.core.scopes import ordered, role_permits, scopes_not_allowed, user_scopes
from app.models.base import utcnow
from app.models.users import User

if TYPE_CHECKING:
    from app.auth.server import OAuthRequest, RapportAuthorizationServer

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def s256_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    expected = urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(expected, challenge)


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE, required of every client (confidential ones too), with S256 only (RFC 9700 §2.1.1).

    authlib's default accepts `plain` and falls back to it when no method is sent.
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    CODE_CHALLENGE_METHODS = {"S256": s256_matches}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    request: OAuthRequest
    server: RapportAuthorizationServer

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        user = self.request.user
        if user is not None:
            # What the person's role lets them grant; none of it left is an invalid scope.
            requested = self.request.payload.scope
            assert self.request.client is not None
            granted = user_scopes(
                self.request.client.model, requested.split() if requested else None, user.role
            )
            if not granted:
                raise InvalidScopeError(
                    "None of the requested scopes can be granted by this account.",
                    redirect_uri=redirect_uri,
                )
            self.request.scope = " ".join(granted)
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        assert request.user is not None and request.client is not None
        data = request.payload.data
        store.save_code(
            self.server.session,
            code,
            client_id=request.client.client_id,
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope,
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            auth_time=request.auth_time or utcnow(),
            expires_at=utcnow()
            + timedelta(seconds=self.server.settings.authorization_code_ttl_seconds),
        )

    def query_authorization_code(self, code: str, client: Any) -> Code | None:
        row = store.find_code(self.server.session, code, client.client_id)
        if row is None:
            return None
        if row.used_at is not None:
            store.revoke_code_family(self.server.session, row)
            return None
        if row.expires_at <= utcnow():
            return None
        return Code(row)

    def create_token_response(self) -> tuple[int, Any, list[tuple[str, str]]]:
        code: Code = self.request.authorization_code
        family_id = uuid.uuid4()
        if not store.claim_code(self.server.session, code.row, family_id):
            store.revoke_code_family(self.server.session, code.row)
            raise InvalidGrantError("The authorization code was already used.")
        self.request.family_id = family_id
        result: tuple[int, Any, list[tuple[str, str]]] = super().create_token_response()
        return result

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Nothing to do: the code was claimed (marked used) before tokens were issued."""

    def authenticate_user(self, authorization_code: Code) -> User | None:
        return self.server.session.get(User, authorization_code.row.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Every use rotates the refresh token; replaying a rotated one revokes its family."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    request: OAuthRequest
    server: RapportAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        row = store.find_refresh_token(self.server.session, refresh_token)
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            return None
        if row.rotated_at is not None:
            # RFC 9700 §4.14.2: a rotated-out token came back, so one of its holders is not
            # the client. The whole family goes.
            store.revoke_family(self.server.session, row.family_id)
            return None
        return StoredRefreshToken(row)

    def create_token_response(self) -> tuple[int, Any, list[tuple[str, str]]]:
        stored: StoredRefreshToken = self.request.refresh_token
        if not store.rotate_refresh_token(self.server.session, stored.row):
            store.revoke_family(self.server.session, stored.row.family_id)
            raise InvalidGrantError("The refresh token was already used.")
        self.request.family_id = stored.row.family_id
        self.request.refresh_scope = stored.row.scope
        result: tuple[int, Any, list[tuple[str, str]]] = super().create_token_response()
        return result

    def issue_token(self, user: User, refresh_token: StoredRefreshToken) -> dict[str, Any]:
        # A role may have changed since the grant: never refresh into scopes it no longer permits.
        requested = self.request.payload.scope or refresh_token.get_scope()
        scope = " ".join(s for s in ordered(requested.split()) if role_permits(user.role, s))
        if not scope:
            raise InvalidScopeError("No scope of this grant is permitted any more.")
        token: dict[str, Any] = self.generate_token(
            user=user, scope=scope, include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN
        )
        return token

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> User | None:
        return self.server.session.get(User, refresh_token.row.user_id)

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        """Nothing to do: the token was rotated out before the new one was issued."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """A confidential client acting for itself: `sub` is its client id, no refresh token."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    request: OAuthRequest

    def create_token_response(self) -> tuple[int, Any, list[tuple[str, str]]]:
        # authlib would issue the raw requested scope: refuse any the client may not have, and
        # give everything it is allowed when it asks for nothing in particular.
        assert self.request.client is not None
        model = self.request.client.model
        requested = self.request.payload.scope.split() if self.request.payload.scope else []
        refused = scopes_not_allowed(model, requested)
        if refused:
            raise scope_not_allowed(refused)
        scope = " ".join(ordered(requested or model.allowed_scopes))
        if not scope:
            raise InvalidScopeError("The client is not allowed any scope.")
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
