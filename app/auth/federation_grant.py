"""RFC 8693 token exchange: a native app trades an Apple or Google id token for Rapport tokens.

`grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, `subject_token` = the provider's
id token, `subject_token_type=urn:ietf:params:oauth:token-type:id_token`. Only first-party
clients may exchange (the person consented to them by installing Rapport's own app); the id
token's audience must be Rapport's client id at that provider (or a configured native app id).

The id token is verified before authlib runs (`prepare_exchange`: it may fetch the provider's
keys, which is asynchronous); the grant then authenticates the client and decides who signs
in, synchronously, with the rules of `app.auth.federation_accounts`.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from joserfc import jws
from joserfc.errors import JoseError

from app.auth import federation_accounts as accounts
from app.auth.oidc import IdTokenError, ProviderUnavailable, VerifiedIdentity
from app.auth.oidc_providers import federation_of
from app.auth.records import scope_not_allowed
from app.core.scopes import scopes_not_allowed, user_scopes

if TYPE_CHECKING:
    from starlette.datastructures import State

    from app.auth.server import OAuthRequest, RapportAuthorizationServer

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    error = "invalid_target"  # RFC 8693 §2.2.2


class ExchangeOutcome:
    """What `prepare_exchange` found: a verified identity, or why there is none."""

    def __init__(
        self, identity: VerifiedIdentity | None = None, error: OAuth2Error | None = None
    ) -> None:
        self.identity = identity
        self.error = error


async def prepare_exchange(state: State, oauth_request: OAuthRequest) -> None:
    """Verify the subject token of a token-exchange request, keeping the outcome on it."""
    data = oauth_request.payload.data
    token = data.get("subject_token")
    if not token or data.get("subject_token_type") != ID_TOKEN_TYPE:
        return  # the grant answers invalid_request
    federation = federation_of(state)
    issuer = _unverified_issuer(token)
    provider = federation.by_issuer(issuer)
    if provider is None:
        error = InvalidGrantError(
            "The subject token is not from an identity provider enabled on this server."
        )
        oauth_request.exchange = ExchangeOutcome(error=error)
        return
    try:
        identity = await provider.oidc.verify(token)
    except IdTokenError as failure:
        oauth_request.exchange = ExchangeOutcome(error=InvalidGrantError(str(failure)))
        return
    except ProviderUnavailable:
        error = OAuth2Error(
            f"{provider.label} could not be reached to verify the token; try again.",
            status_code=503,
        )
        error.error = "temporarily_unavailable"
        oauth_request.exchange = ExchangeOutcome(error=error)
        return
    oauth_request.exchange = ExchangeOutcome(identity=identity)


def _unverified_issuer(token: str) -> object:
    # Only to choose which provider's keys verify it: nothing else is read before verification.
    try:
        claims = json.loads(jws.extract_compact(token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeEncodeError):
        return None
    return claims.get("iss") if isinstance(claims, dict) else None


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):  # type: ignore[misc]
    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    request: OAuthRequest
    server: RapportAuthorizationServer

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.model.is_first_party:
            raise UnauthorizedClientError("Only Rapport's own apps may exchange id tokens.")
        self.request.client = client
        data = self.request.payload.data
        if data.get("actor_token") or data.get("actor_token_type"):
            raise InvalidRequestError("Delegation (actor_token) is not supported.")
        if not data.get("subject_token"):
            raise InvalidRequestError("Missing 'subject_token'.")
        if data.get("subject_token_type") != ID_TOKEN_TYPE:
            raise InvalidRequestError(f"subject_token_type must be {ID_TOKEN_TYPE}.")
        requested_type = data.get("requested_token_type")
        if requested_type not in (None, ACCESS_TOKEN_TYPE):
            raise InvalidRequestError(f"Only {ACCESS_TOKEN_TYPE} can be requested.")
        for name in ("audience", "resource"):
            target = data.get(name)
            if target is not None and target.rstrip("/") != self.server.settings.public_url:
                raise InvalidTargetError(f"Tokens are issued for {self.server.settings.public_url}")
        requested = self.request.payload.scope.split() if self.request.payload.scope else []
        self.server.validate_requested_scope(" ".join(requested))
        refused = scopes_not_allowed(client.model, requested)
        if refused:
            raise scope_not_allowed(refused)
        outcome: ExchangeOutcome | None = self.request.exchange
        if outcome is None or outcome.error is not None:
            raise outcome.error if outcome and outcome.error else InvalidGrantError()
        assert outcome.identity is not None

    def create_token_response(self) -> tuple[int, Any, list[tuple[str, str]]]:
        outcome = self.request.exchange
        identity = outcome.identity if outcome is not None else None
        assert identity is not None and self.request.client is not None
        session = self.server.session
        if accounts.seen_before(session, identity):
            raise InvalidGrantError("This id token was already used; sign in again.")
        resolved = accounts.resolve(session, identity)
        if resolved.must_confirm:
            raise InvalidGrantError(
                "An account with this email exists but is not linked to this "
                f"{identity.provider} account. Sign in once in the browser (the authorization "
                "code flow) and confirm with the account's password to link them."
            )
        user = resolved.user
        if user is None:
            raise InvalidGrantError("This account can no longer sign in.")
        if user.deactivated_at is not None:
            # Signing in cancels a pending deletion, which the browser sign-in does.
            raise InvalidGrantError(
                "This account is being deleted; sign in in the browser to keep it."
            )
        model = self.request.client.model
        requested = self.request.payload.scope
        scopes = user_scopes(model, requested.split() if requested else None, user.role)
        if not scopes:
            raise InvalidScopeError("None of the requested scopes can be granted by this account.")
        self.request.user = user
        self.request.family_id = uuid.uuid4()
        token: dict[str, Any] = self.generate_token(
            user=user, scope=" ".join(scopes), include_refresh_token=True
        )
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
