"""A personal data export: its state, and where to download it once ready."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from app.models.exports import ExportState
from app.schemas.common import UtcDateTime


class ExportLinks(BaseModel):
    self: str
    archive: str | None = Field(
        description="The download (`GET`, the same bearer token): set once ready, until "
        "`expires_at`."
    )


class ExportOut(BaseModel):
    id: uuid.UUID
    state: ExportState = Field(
        description="`pending` (queued), `running`, `ready` (download until `expires_at`), "
        "`failed`, or `expired`."
    )
    created_at: UtcDateTime
    ready_at: UtcDateTime | None
    expires_at: UtcDateTime | None = Field(
        description="When a ready (or failed) export stops being available."
    )
    size: int | None = Field(description="The archive's size in bytes, once ready.")
    links: ExportLinks
