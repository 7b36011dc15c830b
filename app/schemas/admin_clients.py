"""OAuth clients as administrators register and manage them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.security import Scope


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    scopes: list[Scope] = Field(max_length=len(Scope), description="The scopes it may ask for.")
    confidential: bool = Field(
        description="A server-side app holding a secret; public apps use PKCE alone."
    )


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    redirect_uris: list[str] | None = Field(default=None, max_length=20)
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
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None
    disabled: bool
    disabled_at: datetime | None


class ClientWithSecret(ClientOut):
    client_secret: str | None = Field(
        description="Shown once, in this response only; null for a public client."
    )
