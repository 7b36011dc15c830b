"""OAuth clients as administrators register and manage them."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field

from app.core.security import Scope
from app.models.oauth import OAuthClient
from app.schemas.common import UtcDateTime

# What `redirect_uri_problem` accepts (RFC 8252, RFC 9700), as patterns: https with a host,
# http to the loopback IP literal, or a reverse-domain private-use scheme; never a fragment.
_REDIRECT_URI_FORMS = {
    "anyOf": [
        {"pattern": r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?(/[^#\s]*)?$"},
        {"pattern": r"^http://(127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?(/[^#\s]*)?$"},
        {"pattern": r"^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:[^#\s]*$"},
    ],
}
RedirectUri = Annotated[str, Field(json_schema_extra=_REDIRECT_URI_FORMS)]


class ClientCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # A public client (PKCE, no secret) needs a redirect URI.
        json_schema_extra={
            "if": {"properties": {"confidential": {"const": False}}},
            "then": {
                "properties": {"redirect_uris": {"minItems": 1}},
                "required": ["redirect_uris"],
            },
        },
    )

    name: str = Field(min_length=1, max_length=120)
    redirect_uris: list[RedirectUri] = Field(default_factory=list, max_length=20)
    scopes: list[Scope] = Field(max_length=len(Scope), description="The scopes it may ask for.")
    confidential: bool = Field(
        description="A server-side app holding a secret; public apps use PKCE alone."
    )


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    redirect_uris: list[RedirectUri] | None = Field(default=None, max_length=20)
    scopes: list[Scope] | None = Field(default=None, max_length=len(Scope))
    disabled: bool | None = Field(
        default=None, description="A disabled client can neither sign people in nor refresh."
    )


class ClientOut(BaseModel):
    client_id: str
    name: str
    redirect_uris: list[str]
    scopes: list[str]
    confidential: bool
    first_party: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime
    secret_rotated_at: UtcDateTime | None
    disabled: bool
    disabled_at: UtcDateTime | None

    @classmethod
    def from_client(cls, client: OAuthClient) -> Self:
        return cls.model_validate(_client_fields(client))


class ClientWithSecret(ClientOut):
    client_secret: str | None = Field(
        description="Shown once, in this response only; null for a public client."
    )

    @classmethod
    def with_secret(cls, client: OAuthClient, secret: str | None) -> Self:
        return cls.model_validate({**_client_fields(client), "client_secret": secret})


def _client_fields(client: OAuthClient) -> dict[str, object]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": client.redirect_uris,
        "scopes": client.allowed_scopes,
        "confidential": client.is_confidential,
        "first_party": client.is_first_party,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
        "secret_rotated_at": client.secret_rotated_at,
        "disabled": client.disabled_at is not None,
        "disabled_at": client.disabled_at,
    }
