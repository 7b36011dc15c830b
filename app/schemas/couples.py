"""Couples, their members and invites."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field

from app.models.couples import CoupleStatus, Invite, RelationshipStage
from app.schemas.common import Locale, TimeZoneName, UtcDateTime

if TYPE_CHECKING:
    from app.services.couples import CoupleView


class Member(BaseModel):
    user_id: uuid.UUID
    display_name: str
    joined_at: UtcDateTime


class InviteOut(BaseModel):
    """An invite; `code` is shown only in the response that created it."""

    id: uuid.UUID
    code: str | None = Field(
        default=None, description="8 characters; shown once, when the invite is created."
    )
    created_at: UtcDateTime
    expires_at: UtcDateTime

    @classmethod
    def from_invite(cls, invite: Invite, code: str | None = None) -> Self:
        return cls(
            id=invite.id, code=code, created_at=invite.created_at, expires_at=invite.expires_at
        )


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
    created_at: UtcDateTime
    ended_at: UtcDateTime | None

    @classmethod
    def from_view(cls, view: CoupleView) -> Self:
        return cls.model_validate(_couple_fields(view))


class CoupleCreated(CoupleOut):
    invite: InviteOut

    @classmethod
    def from_created(cls, view: CoupleView, invite: Invite, code: str) -> Self:
        return cls.model_validate(
            {**_couple_fields(view), "invite": InviteOut.from_invite(invite, code)}
        )


def _couple_fields(view: CoupleView) -> dict[str, object]:
    couple, pending = view.couple, view.pending_invite
    return {
        "id": couple.id,
        "status": couple.status,
        "members": [
            Member(user_id=member.user_id, display_name=name, joined_at=member.joined_at)
            for member, name in view.members
        ],
        "timezone": couple.timezone,
        "locale": couple.locale,
        "relationship_stage": couple.relationship_stage,
        "enabled_libraries": couple.enabled_libraries,
        "max_depth": couple.max_depth,
        "pending_invite": InviteOut.from_invite(pending) if pending else None,
        "created_at": couple.created_at,
        "ended_at": couple.ended_at,
    }


class CoupleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: TimeZoneName | None = None
    locale: Locale | None = None
    relationship_stage: RelationshipStage | None = None
    enabled_libraries: list[str] | None = Field(default=None, max_length=50)
    max_depth: int | None = Field(default=None, ge=1, le=3)


class CoupleCreate(CoupleUpdate):
    """The couple's first settings, as `PATCH /v1/couples/me` takes them; the time zone and
    language default to yours."""


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=8, max_length=32, description="The invite code; spaces and dashes are ignored."
    )
