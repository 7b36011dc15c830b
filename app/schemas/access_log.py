"""The access log of a person's private writing."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from app.models.access_log import PrivateKind
from app.schemas.common import UtcDateTime


class AccessLogEntryOut(BaseModel):
    """A third-party app read some of your private writing."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str = Field(description="The app that read it.")
    client_name: str | None = Field(description="Its name; null when the app was deleted.")
    kind: PrivateKind = Field(description="What it read: journal entries or private check-ins.")
    items: int = Field(ge=1, description="How many items the read returned.")
    operation: str = Field(description="The API operation it called.", examples=["journal_list"])
    occurred_at: UtcDateTime
