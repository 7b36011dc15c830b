"""The curation audit log as curators and admins read it."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import UtcDateTime


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: UtcDateTime
    actor_user_id: uuid.UUID | None = Field(description="Null for changes made by the system.")
    actor_client_id: str | None
    action: str = Field(examples=["library.published"])
    entity_type: str = Field(examples=["library"])
    entity_id: uuid.UUID
    before: dict[str, Any] | None
    after: dict[str, Any] | None
