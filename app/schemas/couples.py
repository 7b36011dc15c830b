"""Couples, their members and invites."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models.couples import CoupleStatus, RelationshipStage
from app.schemas.common import Locale, TimeZoneName


class Member(BaseModel):
    user_id: uuid.UUID
    display_name: str
    joined_at: datetime


class InviteOut(BaseModel):
    """An invite; `code` is shown only in the response that created it."""

    id: uuid.UUID
    code: str | None = Field(
        default=None, description="8 characters; shown once, when the invite is created."
    )
    created_at: datetime
    expires_at: datetime


class CoupleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: CoupleStatus
    members: list[Member]
    timezone: str
    locale: str
    relationship_stage: RelationshipStage | None
    enabled_libraries: list[str] = Field(
        description=(
            "Slugs of the prompt libraries the daily prompt draws from; "
            "empty: every library that suits the couple."
        )
    )
    max_depth: int = Field(ge=1, le=3, description="The deepest prompts the couple wants (1 to 3).")
    pending_invite: InviteOut | None = None
    created_at: datetime
    ended_at: datetime | None


class CoupleCreated(CoupleOut):
    invite: InviteOut


class CoupleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: TimeZoneName | None = None
    locale: Locale | None = None
    relationship_stage: RelationshipStage | None = None
    enabled_libraries: list[str] | None = Field(default=None, max_length=50)
    max_depth: int | None = Field(default=None, ge=1, le=3)


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=8, max_length=32, description="The invite code; spaces and dashes are ignored."
    )
