"""Agreements of a repair plan and their signed wordings."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import UtcDateTime
from app.schemas.repair_templates import AgreementText, PhaseKey, _Input

if TYPE_CHECKING:
    from app.services.repair_agreements import AgreementView, VersionView


class SignatureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    signed_at: UtcDateTime


class AgreementVersionOut(BaseModel):
    number: int
    text: str
    proposed_by: uuid.UUID | None
    created_at: UtcDateTime
    signatures: list[SignatureOut]
    in_force_at: UtcDateTime | None = Field(description="When both had signed this wording.")

    @classmethod
    def from_view(cls, view: VersionView) -> Self:
        version = view.version
        return cls(
            number=version.number,
            text=version.text,
            proposed_by=version.proposed_by,
            created_at=version.created_at,
            signatures=[SignatureOut.model_validate(s) for s in view.signatures],
            in_force_at=version.in_force_at,
        )


class AgreementOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    phase: str | None
    status: str = Field(
        description="`in_force` once both signed its newest wording, else `pending`."
    )
    version: int = Field(description="The newest wording's number.")
    text: str = Field(description="The newest wording.")
    signed_by: list[uuid.UUID] = Field(description="Who signed the newest wording.")
    in_force_version: int | None = Field(description="The newest wording both signed.")
    in_force_text: str | None
    versions: list[AgreementVersionOut] = Field(description="Every wording, oldest first.")
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def from_view(cls, view: AgreementView) -> Self:
        newest, in_force = view.newest, view.in_force
        return cls(
            id=view.agreement.id,
            plan_id=view.agreement.plan_id,
            phase=view.agreement.phase,
            status="in_force" if newest.version.in_force_at is not None else "pending",
            version=newest.version.number,
            text=newest.version.text,
            signed_by=newest.signed_by,
            in_force_version=in_force.version.number if in_force else None,
            in_force_text=in_force.version.text if in_force else None,
            versions=[AgreementVersionOut.from_view(version) for version in view.versions],
            created_at=view.agreement.created_at,
            updated_at=view.agreement.updated_at,
        )


class AgreementCreate(_Input):
    text: AgreementText
    phase: PhaseKey | None = None


class AgreementUpdate(_Input):
    text: AgreementText


class AgreementSign(_Input):
    version: int = Field(ge=1, le=1_000_000, description="The wording you read and sign.")
