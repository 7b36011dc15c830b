"""The export archive's published schema: one JSON document, its sections in this order.

Every item model reads from ORM rows (`from_attributes`), so the archive is written item by
item (see `app.services.exports_archive`) and validates as a whole against `ExportArchive`.
docs/export.md describes each section.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models.access_log import PrivateKind
from app.models.activities import IdeaSource, Mark
from app.models.answers import ReflectionKind
from app.models.checkins import Visibility
from app.models.conversations import Move, Phase
from app.models.couples import CoupleStatus, RelationshipStage
from app.models.repair import PlanStatus, StepOwner, StepStatus
from app.models.rituals import RitualStatus, RitualStep
from app.models.users import Role
from app.schemas.common import UtcDateTime

ARCHIVE_FORMAT = "rapport-export"
ARCHIVE_VERSION = 1


class _Item(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ArchiveProfile(_Item):
    id: uuid.UUID
    email: str
    display_name: str
    timezone: str
    locale: str
    role: Role
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ArchiveCouple(_Item):
    """A couple the person was or is in: their own membership span."""

    couple_id: uuid.UUID
    status: CoupleStatus
    timezone: str
    locale: str
    relationship_stage: RelationshipStage | None
    created_at: UtcDateTime
    joined_at: UtcDateTime = Field(description="When the person joined this couple.")
    ended_at: UtcDateTime | None = Field(description="When the couple ended, if it did.")
    partner_id: uuid.UUID | None
    partner_display_name: str | None


class ArchivePrompt(_Item):
    id: uuid.UUID = Field(description="The prompt version answered.")
    prompt_id: uuid.UUID
    text: str
    category: str
    depth: int


class ArchivePartnerAnswer(_Item):
    """The partner's answer to the same day's prompt: only once both were revealed."""

    id: uuid.UUID
    user_id: uuid.UUID
    text: str
    created_at: UtcDateTime
    revealed_at: UtcDateTime | None


class ArchiveAnswer(_Item):
    id: uuid.UUID
    couple_id: uuid.UUID
    local_date: date
    prompt: ArchivePrompt
    text: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    revealed_at: UtcDateTime | None
    partner_answer: ArchivePartnerAnswer | None


class ArchiveCheckIn(_Item):
    id: uuid.UUID
    user_id: uuid.UUID = Field(
        description="The author: the person, or in `partner_checkins` the partner."
    )
    couple_id: uuid.UUID | None
    mood: int
    emotions: list[str]
    needs: list[str]
    note: str | None
    request: str | None
    visibility: Visibility
    local_date: date
    created_at: UtcDateTime
    updated_at: UtcDateTime
    shared_at: UtcDateTime | None


class ArchiveJournalEntry(_Item):
    id: uuid.UUID
    body: str
    pattern_tags: list[str]
    emotions: list[str]
    local_date: date
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ArchiveReflection(_Item):
    id: uuid.UUID
    author_id: uuid.UUID
    by_me: bool = Field(
        description="Written by the person (else by the partner, on the "
        "person's answer or check-in)."
    )
    target_type: str = Field(description="`answer` or `checkin`.")
    target_id: uuid.UUID
    couple_id: uuid.UUID
    kind: ReflectionKind
    text: str
    created_at: UtcDateTime


class ArchiveRepairStep(_Item):
    id: uuid.UUID
    phase: str
    title: str
    description: str
    owner: StepOwner
    due_date: date | None
    status: StepStatus
    position: int
    completed_at: UtcDateTime | None
    created_by: uuid.UUID | None
    created_at: UtcDateTime


class ArchiveAgreementVersion(_Item):
    id: uuid.UUID
    number: int
    text: str
    proposed_by: uuid.UUID | None
    created_at: UtcDateTime
    in_force_at: UtcDateTime | None = Field(description="When both had signed this wording.")
    signed_by_me_at: UtcDateTime | None


class ArchiveAgreement(_Item):
    id: uuid.UUID
    phase: str | None
    position: int
    versions: list[ArchiveAgreementVersion]


class ArchiveTrustRating(_Item):
    id: uuid.UUID
    score: int
    note: str | None
    note_shared: bool
    recorded_at: UtcDateTime
    local_date: date


class ArchiveRepairPlan(_Item):
    id: uuid.UUID
    couple_id: uuid.UUID
    title: str
    status: PlanStatus
    mutual: bool
    hurt_user_id: uuid.UUID | None
    involved_user_id: uuid.UUID | None
    proposed_by: uuid.UUID | None
    phases: list[dict[str, Any]]
    current_phase: int
    created_at: UtcDateTime
    accepted_at: UtcDateTime | None
    paused_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    decline_note: str | None = Field(description="Only when the person declined the plan.")
    steps: list[ArchiveRepairStep] = Field(
        description="Every step while the couple lasts; of a past couple, the person's own."
    )
    agreements: list[ArchiveAgreement] = Field(
        description="Versions the person proposed or signed (the partner's signed wording "
        "included)."
    )
    trust_ratings: list[ArchiveTrustRating] = Field(description="The person's own ratings.")


class ArchiveTurn(_Item):
    seq: int
    author_id: uuid.UUID
    move: Move
    text: str | None
    created_at: UtcDateTime


class ArchiveConversation(_Item):
    id: uuid.UUID
    couple_id: uuid.UUID
    topic: str | None = Field(
        description="While the couple lasts; of a past couple, only if the person wrote it."
    )
    prompt_id: uuid.UUID | None
    started_by: uuid.UUID | None
    phase: Phase
    speaker_id: uuid.UUID
    listener_id: uuid.UUID
    paused: bool
    ended_at: UtcDateTime | None
    appreciated_by: list[uuid.UUID]
    created_at: UtcDateTime
    updated_at: UtcDateTime
    turns: list[ArchiveTurn] = Field(
        description="Every turn while the couple lasts; of a past couple, the person's own."
    )


class ArchiveActivityIdea(_Item):
    id: uuid.UUID
    couple_id: uuid.UUID
    author_id: uuid.UUID
    title: str
    note: str | None
    created_at: UtcDateTime


class ArchiveActivityMark(_Item):
    couple_id: uuid.UUID
    idea_id: uuid.UUID = Field(description="A prompt's id (curated) or an own idea's.")
    source: IdeaSource
    mark: Mark
    updated_at: UtcDateTime


class ArchiveActivityReview(_Item):
    user_id: uuid.UUID
    rating: int
    note: str | None
    created_at: UtcDateTime


class ArchiveActivityMatch(_Item):
    id: uuid.UUID
    couple_id: uuid.UUID
    idea_id: uuid.UUID
    source: IdeaSource
    matched_at: UtcDateTime
    planned_for: date | None
    planned_by: uuid.UUID | None
    completed_at: UtcDateTime | None
    reviews: list[ArchiveActivityReview] = Field(
        description="The person's own review; the partner's too once both said theirs, while "
        "the couple lasts."
    )


class ArchiveActivities(BaseModel):
    ideas: list[ArchiveActivityIdea] = Field(
        description="The couple's own ideas while the couple lasts; of a past couple, the "
        "person's own."
    )
    marks: list[ArchiveActivityMark] = Field(
        description="The person's own marks, never the partner's."
    )
    matches: list[ArchiveActivityMatch]


class ArchiveRitualEntry(_Item):
    id: uuid.UUID
    author_id: uuid.UUID
    step: RitualStep
    text: str
    created_at: UtcDateTime


class ArchiveRitualCommitment(_Item):
    id: uuid.UUID
    owner_id: uuid.UUID
    text: str
    done_at: UtcDateTime | None
    created_at: UtcDateTime


class ArchiveRitual(_Item):
    id: uuid.UUID
    couple_id: uuid.UUID
    week_of: date
    status: RitualStatus
    started_by: uuid.UUID | None
    issue_done: bool
    conversation_id: uuid.UUID | None
    completed_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    entries: list[ArchiveRitualEntry] = Field(
        description="The person's own, and the partner's they can read while the couple lasts."
    )
    commitments: list[ArchiveRitualCommitment] = Field(description="As `entries`.")


class ArchiveConnectedApp(_Item):
    client_id: str
    name: str
    first_party: bool
    scopes: list[str]
    granted_at: UtcDateTime
    updated_at: UtcDateTime
    private_read_at: UtcDateTime | None


class ArchiveAccessLogEntry(_Item):
    id: uuid.UUID
    client_id: str
    client_name: str | None
    kind: PrivateKind
    items: int
    operation: str
    occurred_at: UtcDateTime


class ExportArchive(BaseModel):
    """Everything a person wrote in Rapport and what their partner shared with them — never
    the partner's private writing (private check-ins, journal, unrevealed answers)."""

    format: Literal["rapport-export"]
    schema_version: Literal[1]
    export_id: uuid.UUID
    generated_at: UtcDateTime
    profile: ArchiveProfile
    couples: list[ArchiveCouple]
    answers: list[ArchiveAnswer] = Field(
        description="The person's answers, with the partner's where both were revealed."
    )
    checkins: list[ArchiveCheckIn] = Field(
        description="The person's check-ins, private and shared."
    )
    partner_checkins: list[ArchiveCheckIn] = Field(
        description="Check-ins the current partner shared in the current couple."
    )
    journal_entries: list[ArchiveJournalEntry]
    reflections: list[ArchiveReflection]
    repair_plans: list[ArchiveRepairPlan]
    conversations: list[ArchiveConversation] = Field(
        description="Speaker-listener conversations of every couple the person was in."
    )
    activities: ArchiveActivities = Field(
        description="Time together, of every couple the person was in."
    )
    rituals: list[ArchiveRitual] = Field(
        description="Weekly rituals of every couple the person was in."
    )
    connected_apps: list[ArchiveConnectedApp]
    access_log: list[ArchiveAccessLogEntry]
