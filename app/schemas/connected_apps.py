"""The apps a person connected to their account."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ConnectedAppOut(BaseModel):
    """An app holding your consent or a live refresh token."""

    client_id: str
    name: str
    scopes: list[str] = Field(description="What you granted it (or what its tokens carry).")
    first_party: bool = Field(description="Rapport's own app: it needs no consent screen.")
    granted_at: datetime
    updated_at: datetime


class ConnectedAppList(BaseModel):
    data: list[ConnectedAppOut]
