"""The OAuth 2 authorization server's machine endpoints, and its pages (app.auth.pages).

Errors here use the RFC 6749 JSON format (`error`, `error_description`), not problem
details: that is what OAuth client libraries parse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import JSONResponse, Response

from app.auth import account_pages, federation_pages, pages
from app.auth.metadata import server_metadata
from app.auth.server import OAuthRequest, RapportAuthorizationServer, read_oauth_request
from app.core.ratelimit import close_shared_backend
from app.db import SessionDep
from app.schemas.oauth import (
    IntrospectionResponse,
    JsonWebKeySet,
    ServerMetadata,
    TokenActionRequest,
    TokenRequest,
    TokenResponse,
    form_body,
    oauth_errors,
)

METADATA_MAX_AGE = 3600
JWKS_MAX_AGE = 300
# The authorization server answers every token, revocation and introspection request with
# `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1), errors included.
_NO_STORE_HEADERS = {
    "Cache-Control": {"description": "`no-store`.", "schema": {"type": "string"}},
    "Pragma": {"description": "`no-cache`.", "schema": {"type": "string"}},
}


def _no_store(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    return {status: {**entry, "headers": _NO_STORE_HEADERS} for status, entry in responses.items()}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await close_shared_backend(app)


router = APIRouter(tags=["oauth"], lifespan=lifespan)
router.include_router(pages.router)
router.include_router(federation_pages.router)
router.include_router(account_pages.router)

ServerCall = Callable[[RapportAuthorizationServer, OAuthRequest], Response]


async def _serve(request: Request, session: SessionDep, call: ServerCall) -> Response:
    try:
        oauth_request = await read_oauth_request(request, request.app.state.settings)
    except OAuth2Error as error:  # insecure transport: public_url must be https in production
        status, body, headers = error()
        return JSONResponse(body, status_code=status, headers=dict(headers))
    server = await RapportAuthorizationServer.open(request, session, oauth_request)
    return await server.run(call, server, oauth_request)


@router.post(
    "/oauth/token",
    summary="Exchange a grant for tokens",
    response_model=TokenResponse,
    responses=_no_store({200: {}, **oauth_errors(400, 401, 503)}),
    openapi_extra=form_body(TokenRequest),
)
async def oauth_token(request: Request, session: SessionDep) -> Response:
    """The token endpoint (RFC 6749 §3.2).

    - `authorization_code`: the code, the `redirect_uri` of the request, and the PKCE
      `code_verifier` (S256, required of every client). A code works once: presenting it again
      revokes the tokens it produced.
    - `refresh_token`: every use returns a new refresh token; replaying an old one revokes the
      whole chain (RFC 9700 §4.14).
    - `client_credentials`: confidential clients acting for themselves (`sub` = client id).
    - `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693), first-party apps only:
      `subject_token` is an Apple or Google id token (`subject_token_type`
      `urn:ietf:params:oauth:token-type:id_token`) whose audience is this server's client id
      at that provider. A linked or new person gets tokens; an id token whose email belongs
      to an unlinked account is `invalid_grant` (link it once in the browser sign-in).
      `503` when the provider's keys cannot be fetched.

    Confidential clients authenticate with HTTP Basic or `client_secret` in the body; public
    clients send `client_id`. Responses carry `Cache-Control: no-store`.
    """
    return await _serve(request, session, lambda server, req: server.create_token_response(req))


@router.post(
    "/oauth/revoke",
    summary="Revoke a token",
    responses=_no_store(
        {200: {"description": "Revoked, or unknown (RFC 7009 §2.2)"}, **oauth_errors(400, 401)}
    ),
    openapi_extra=form_body(TokenActionRequest),
)
async def oauth_revoke(request: Request, session: SessionDep) -> Response:
    """RFC 7009. Revoking a refresh token revokes every token rotated from the same grant,
    and the access tokens issued from them; revoking an access token stops that token.

    Revoked access tokens answer 401 at once, on every API process within seconds. Unknown
    tokens also answer 200.
    """
    return await _serve(
        request, session, lambda server, req: server.create_endpoint_response("revocation", req)
    )


@router.post(
    "/oauth/introspect",
    summary="Introspect a token",
    response_model=IntrospectionResponse,
    responses=_no_store({200: {}, **oauth_errors(400, 401)}),
    openapi_extra=form_body(TokenActionRequest),
)
async def oauth_introspect(request: Request, session: SessionDep) -> Response:
    """RFC 7662, for confidential clients: their own tokens, or any token for first-party ones.

    An inactive, unknown or foreign token answers exactly `{"active": false}`.
    """
    return await _serve(
        request, session, lambda server, req: server.create_endpoint_response("introspection", req)
    )


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata",
    response_model=ServerMetadata,
)
async def oauth_metadata(request: Request) -> Response:
    """RFC 8414: the endpoints, grants, scopes and methods this server supports."""
    body: dict[str, Any] = server_metadata(request.app.state.settings)
    return JSONResponse(body, headers={"Cache-Control": f"public, max-age={METADATA_MAX_AGE}"})


@router.get("/.well-known/jwks.json", summary="Token signing keys", response_model=JsonWebKeySet)
async def oauth_jwks(request: Request) -> Response:
    """The public keys that verify access tokens, retired ones included while their tokens live.

    Cache it, and fetch it again when a token names a `kid` you do not know.
    """
    return JSONResponse(
        request.app.state.tokens.keys.jwks(),
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"},
    )
