"""Trust repair: curated plan templates, and the consent-based plans couples follow.

A template's working copy is edited by curators; publishing freezes it as a numbered
version, which is what members see and what a plan copies. A plan belongs to a couple,
becomes active only once the partner who did not propose accepts it, and carries its own
copy of phases, steps and agreements, so later template edits never change a plan in use.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from app.models.curation import CuratedContent, PublishedVersion, enum_column


class TemplateStatus(StrEnum):
    # The editorial life cycle of `app.services.curation`.
    draft = "draft"
    review = "review"
    published = "published"
    archived = "archived"


class PartnerRole(StrEnum):
    """Who was hurt: one partner (`hurt`, the other `involved`), or both (`mutual`)."""

    hurt = "hurt"
    involved = "involved"
    mutual = "mutual"


class StepOwner(StrEnum):
    hurt = "hurt"
    involved = "involved"
    both = "both"


class PlanStatus(StrEnum):
    proposed = "proposed"
    active = "active"
    paused = "paused"
    declined = "declined"
    completed = "completed"
    abandoned = "abandoned"


class StepStatus(StrEnum):
    open = "open"
    done = "done"


class RepairTemplate(CuratedContent, Base):
    """A template's working copy, as curators edit it."""

    __tablename__ = "repair_templates"
    status_type = TemplateStatus

    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Ordered phases, each with suggested steps and agreements (schemas.repair.PhaseTemplate).
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class RepairTemplateVersion(PublishedVersion, Base):
    """One publication of a template, frozen: the version history, and what plans copy."""

    __tablename__ = "repair_template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    template_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("repair_templates.id", ondelete="CASCADE")
    )
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class RepairPlan(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "repair_plans"
    __encrypted__ = {"title": "proposed_by", "decline_note": "declined_by"}
    __table_args__ = (Index("ix_repair_plans_couple_id_created_at", "couple_id", "created_at"),)

    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    # Equal to couple_id while the plan is open (proposed, active, paused), NULL once it ends:
    # a unique column that holds "one open plan per couple" on both engines.
    open_couple_id: Mapped[uuid.UUID | None] = mapped_column(unique=True, default=None)
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("repair_templates.id", ondelete="SET NULL"), default=None
    )
    template_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # Free text is sealed (app.core.encryption_orm): Text, as envelopes outgrow the wording.
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[PlanStatus] = mapped_column(enum_column(PlanStatus), default=PlanStatus.proposed)
    mutual: Mapped[bool] = mapped_column(Boolean, default=False)
    hurt_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    involved_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Ordered [{key, title, description}]; `current_phase` indexes it.
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    current_phase: Mapped[int] = mapped_column(Integer, default=0)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    declined_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Seen by the partner who declined, and by nobody else.
    decline_note: Mapped[str | None] = mapped_column(Text, default=None)


class RepairSignOff(UUIDPrimaryKey, Base):
    """A pending sign-off on a move both partners must agree to (advance, complete)."""

    __tablename__ = "repair_sign_offs"
    __table_args__ = (UniqueConstraint("plan_id", "move", "user_id"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("repair_plans.id", ondelete="CASCADE"))
    move: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepairStep(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "repair_steps"
    __encrypted__ = {"title": "written_by", "description": "written_by"}
    __table_args__ = (Index("ix_repair_steps_plan_id_position", "plan_id", "position"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("repair_plans.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[StepOwner] = mapped_column(enum_column(StepOwner))
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[StepStatus] = mapped_column(enum_column(StepStatus), default=StepStatus.open)
    position: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Who last wrote the title or description: the data key that seals them. NULL while
    # they are a template's wording.
    written_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class RepairStepConfirmation(UUIDPrimaryKey, Base):
    """A partner's confirmation that a step is done; a `both` step needs one from each."""

    __tablename__ = "repair_step_confirmations"
    __table_args__ = (UniqueConstraint("step_id", "user_id"),)

    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("repair_steps.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepairAgreement(UUIDPrimaryKey, Timestamps, Base):
    """An agreement's identity; its wording lives in versions, each signed anew."""

    __tablename__ = "repair_agreements"
    __table_args__ = (Index("ix_repair_agreements_plan_id_position", "plan_id", "position"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("repair_plans.id", ondelete="CASCADE"))
    phase: Mapped[str | None] = mapped_column(String(32), default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class RepairAgreementVersion(UUIDPrimaryKey, Base):
    __tablename__ = "repair_agreement_versions"
    __encrypted__ = {"text": "proposed_by"}
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("repair_agreements.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the second partner signs: from then on this wording is in force.
    in_force_at: Mapped[datetime | None] = mapped_column(default=None)


class RepairSignature(UUIDPrimaryKey, Base):
    __tablename__ = "repair_signatures"
    __table_args__ = (UniqueConstraint("version_id", "user_id"),)

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("repair_agreement_versions.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrustRating(UUIDPrimaryKey, Base):
    """How safe and trusting a partner feels, 0 to 10; the note stays private unless shared."""

    __tablename__ = "repair_trust_ratings"
    __encrypted__ = {"note": "user_id"}
    __table_args__ = (
        Index("ix_repair_trust_ratings_plan_id_recorded_at", "plan_id", "recorded_at"),
        Index("ix_repair_trust_ratings_couple_id_recorded_at", "couple_id", "recorded_at"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("repair_plans.id", ondelete="CASCADE"))
    couple_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    note_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The couple's local date when it was recorded: weeks are counted in local time.
    local_date: Mapped[date] = mapped_column(Date)
