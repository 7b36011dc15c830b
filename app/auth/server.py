"""authlib's generic authorization server, bridged to Starlette and to the async session.

authlib is synchronous. Each request is bridged in three steps:

1. the endpoint reads the request body asynchronously and builds an `OAuthRequest`;
2. the clients the request names are loaded (`app.auth.store.find_clients`);
3. authlib runs inside `AsyncSession.run_sync`, so its storage callbacks (`app.auth.store`)
   use the sync `Session` on SQLAlchemy's greenlet bridge: no thread, no blocked loop.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Payload
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.auth import store
from app.auth.endpoints import IntrospectionEndpoint, RevocationEndpoint
from app.auth.federation_grant import (
    TOKEN_EXCHANGE,
    ExchangeOutcome,
    TokenExchangeGrant,
    prepare_exchange,
)
from app.auth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from app.auth.records import Client
from app.config import Environment, Settings
from app.core.secrets import new_token
from app.core.security import Scope
from app.core.tokens import TokenService
from app.models.oauth import OAuthClient
from app.models.users import User

logger = logging.getLogger("rapport.oauth")
T = TypeVar("T")


class OAuthPayload(OAuth2Payload):  # type: ignore[misc]
    """The request's parameters: the query string for GET, the form body for POST."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class OAuthRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request whose body was already read; authlib never touches Starlette."""

    user: User | None
    client: Client | None

    def __init__(
        self,
        *,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.payload = OAuthPayload(form if method == "POST" else query)
        self.family_id: uuid.UUID | None = None
        """The refresh-token family the tokens being issued belong to."""
        self.refresh_scope: str | None = None
        """The scope a new refresh token keeps when the access token asked for less."""
        self.auth_time: datetime | None = None
        """When the person signed in, stored with the code."""
        self.exchange: ExchangeOutcome | None = None
        """Token exchange: the subject token's verification, done before authlib runs."""

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def read_oauth_request(
    request: Request, settings: Settings, *, params: list[tuple[str, str]] | None = None
) -> OAuthRequest:
    """Read the body now (asynchronously); `params` replaces the form (consent submissions)."""
    form: list[tuple[str, str]] = []
    if params is not None:
        form = params
    elif request.method == "POST":
        data = await request.form()
        form = [(name, value) for name, value in data.multi_items() if isinstance(value, str)]
    query = list(request.query_params.multi_items())
    uri = (
        settings.public_url
        + request.url.path
        + (f"?{request.url.query}" if request.url.query else "")
    )
    # authlib refuses plain-http URIs but for loopback hosts. TLS ends at the proxy, so the
    # URI is rebuilt from public_url: production must publish https; other environments
    # (tests on http://rapport.test) are let through.
    if settings.environment is not Environment.production and uri.startswith("http://"):
        uri = "https://" + uri.removeprefix("http://")
    return OAuthRequest(
        method=request.method, uri=uri, headers=request.headers, query=query, form=form
    )


def requested_client_ids(oauth_request: OAuthRequest) -> set[str]:
    ids = {oauth_request.payload.client_id}
    basic_id, _ = extract_basic_authorization(oauth_request.headers)
    ids.add(basic_id)
    return {client_id for client_id in ids if isinstance(client_id, str) and client_id}


class RapportAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self,
        session: AsyncSession,
        *,
        clients: Mapping[str, OAuthClient],
        tokens: TokenService,
        settings: Settings,
    ) -> None:
        super().__init__(scopes_supported=[scope.value for scope in Scope])
        self.async_session = session
        self.session = session.sync_session
        self.tokens = tokens
        self.settings = settings
        self._clients = dict(clients)
        self._request: OAuthRequest | None = None
        self.register_token_generator("default", self._generate_token)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(TokenExchangeGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)

    @classmethod
    async def open(
        cls, request: Request, session: AsyncSession, oauth_request: OAuthRequest
    ) -> RapportAuthorizationServer:
        """A server for one request, with the clients that request names already loaded."""
        client_ids = requested_client_ids(oauth_request)
        clients = await session.run_sync(store.find_clients, client_ids)
        state = request.app.state
        if oauth_request.payload.grant_type == TOKEN_EXCHANGE:
            await prepare_exchange(state, oauth_request)
        return cls(session, clients=clients, tokens=state.tokens, settings=state.settings)

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run authlib code with the session's sync facade on the greenlet bridge."""
        return await self.async_session.run_sync(lambda _session: call(*args, **kwargs))

    # authlib's hooks -----------------------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        model = self._clients.get(client_id)
        return Client(model) if model is not None else None

    def validate_requested_scope(self, scope: str | None) -> None:
        known = set(self.scopes_supported)
        unknown = [name for name in (scope or "").split() if name not in known]
        if unknown:
            raise InvalidScopeError(f"Unknown scope: {' '.join(unknown)}.")

    def create_oauth2_request(self, request: OAuthRequest) -> OAuthRequest:
        assert isinstance(request, OAuthRequest)
        self._request = request  # one server per request: the token generator reads its family
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints (dynamic client registration) are served")

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        logger.debug("oauth signal %s", name)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        header_map = dict(headers)
        if "Location" in header_map:
            # RFC 9207: authorization responses (errors too) name their issuer.
            header_map["Location"] = add_params_to_uri(
                header_map["Location"], [("iss", self.settings.public_url)]
            )
        content = json.dumps(body) if isinstance(body, dict) else (body or "")
        return Response(content, status_code=status, headers=header_map)

    def _generate_token(
        self,
        grant_type: str,
        client: Client,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        # RFC 9068 §2.2: a client acting for itself is its own subject.
        subject = str(user.id) if user is not None else client.client_id
        # `sid` names the refresh-token family, so revoking the family stops these tokens too.
        family_id = self._request.family_id if self._request is not None else None
        access_token, ttl = self.tokens.issue(
            subject=subject,
            client_id=client.client_id,
            scope=scope or "",
            session_id=str(family_id) if family_id else None,
        )
        token: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope or "",
        }
        if include_refresh_token and user is not None:
            token["refresh_token"] = new_token(32)
        return token

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        """Access tokens are stateless JWTs; only refresh tokens are stored (hashed)."""
        refresh_token = token.get("refresh_token")
        if refresh_token is None:
            return
        assert request.user is not None and request.client is not None
        assert request.family_id is not None
        store.save_refresh_token(
            self.session,
            refresh_token,
            family_id=request.family_id,
            client_id=request.client.client_id,
            user_id=request.user.id,
            scope=request.refresh_scope or token["scope"],
            ttl=timedelta(seconds=self.settings.refresh_token_ttl_seconds),
        )
