"""The apps a person connected to their account."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import UtcDateTime


class ConnectedAppOut(BaseModel):
    """An app holding your consent or a live refresh token."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    scopes: list[str] = Field(description="What you granted it (or what its tokens carry).")
    first_party: bool = Field(description="Rapport's own app: it needs no consent screen.")
    sensitive_scopes: list[str] = Field(
        description="The scopes it holds that read your private writing (journal, private "
        "check-ins); each such read is in your access log."
    )
    private_read_at: UtcDateTime | None = Field(
        description="When it last read your private writing; null if it never did."
    )
    granted_at: UtcDateTime
    updated_at: UtcDateTime


class ConnectedAppList(BaseModel):
    data: list[ConnectedAppOut]
