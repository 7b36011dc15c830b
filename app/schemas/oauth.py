"""What the OAuth endpoints take and return, for the published schema.

The endpoints read their form bodies themselves, so that every error leaves in the RFC 6749
JSON format OAuth client libraries expect; these models document the bodies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class OAuthError(BaseModel):
    """An RFC 6749 §5.2 error."""

    error: str = Field(examples=["invalid_grant"])
    error_description: str | None = None
    error_uri: str | None = None


class TokenRequest(BaseModel):
    grant_type: Literal[
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    code: str | None = Field(default=None, description="authorization_code: the code received.")
    redirect_uri: str | None = Field(
        default=None,
        description="authorization_code: the redirect URI of the authorization request.",
    )
    code_verifier: str | None = Field(
        default=None, description="authorization_code: the PKCE verifier (required, S256)."
    )
    refresh_token: str | None = Field(default=None, description="refresh_token: the refresh token.")
    scope: str | None = Field(
        default=None, description="Space-separated scopes; defaults to all granted."
    )
    client_id: str | None = Field(
        default=None, description="Public clients, and client_secret_post."
    )
    client_secret: str | None = Field(default=None, description="client_secret_post only.")
    subject_token: str | None = Field(
        default=None, description="token exchange: an Apple or Google id token (RFC 8693)."
    )
    subject_token_type: Literal["urn:ietf:params:oauth:token-type:id_token"] | None = Field(
        default=None, description="token exchange: the type of `subject_token`."
    )
    requested_token_type: Literal["urn:ietf:params:oauth:token-type:access_token"] | None = Field(
        default=None, description="token exchange: only access tokens are issued."
    )
    audience: str | None = Field(
        default=None, description="token exchange: if sent, this server's issuer URL."
    )


class TokenResponse(BaseModel):
    access_token: str = Field(description="An RFC 9068 JWT; verify it with the JWKS.")
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    refresh_token: str | None = Field(
        default=None,
        description="Single use: every refresh returns a new one. Absent for client credentials.",
    )
    issued_token_type: Literal["urn:ietf:params:oauth:token-type:access_token"] | None = Field(
        default=None, description="token exchange only (RFC 8693 §2.2.1)."
    )


class TokenActionRequest(BaseModel):
    token: str
    token_type_hint: Literal["access_token", "refresh_token"] | None = None
    client_id: str | None = None
    client_secret: str | None = None


class IntrospectionResponse(BaseModel):
    """`{"active": false}` alone for a token that is unknown, expired, revoked or not yours."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    sub: str | None = Field(
        default=None, description="A user id, or the client id for client tokens."
    )
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    token_type: str | None = None


class ServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata."""

    model_config = ConfigDict(extra="allow")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str
    introspection_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    code_challenge_methods_supported: list[str]
    authorization_response_iss_parameter_supported: bool


class JsonWebKeySet(BaseModel):
    """Public keys that verify access tokens (RFC 7517)."""

    keys: list[dict[str, Any]]


FORM_BODIES: dict[str, type[BaseModel]] = {}
"""The form-encoded bodies documented with `form_body`, published as components by name."""


def form_body(model: type[BaseModel]) -> dict[str, Any]:
    """An `openapi_extra` documenting a form-encoded request body (a named component)."""
    FORM_BODIES[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def oauth_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "An RFC 6749 error, e.g. invalid_request or invalid_grant",
        401: "invalid_client",
        503: "temporarily_unavailable: an identity provider could not be reached",
    }
    return {
        status: {"model": OAuthError, "description": descriptions[status]} for status in statuses
    }
