"""The weekly ritual: its schedule, each week's ritual, entries, the issue, commitments."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.models.rituals import RitualCommitment, RitualEntry, RitualStatus, RitualStep, Weekday
from app.schemas.checkins import storable
from app.schemas.common import UtcDateTime
from app.schemas.conversations import FirstSpeaker, Topic
from app.schemas.devices import LocalTime
from app.services.ritual_rules import MAX_TEXT

if TYPE_CHECKING:
    from app.services.ritual_schedule import ScheduleView
    from app.services.rituals import RitualView

RitualText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TEXT, description=f"1 to {MAX_TEXT} characters."),
    AfterValidator(storable),
]
WrittenStep = Literal[RitualStep.appreciations, RitualStep.went_well]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: Weekday = Field(description="The day of the week, in the couple's time zone.")
    local_time: LocalTime = Field(description="The local time it starts, `HH:MM`.")


class ScheduleOut(BaseModel):
    weekday: Weekday
    local_time: str = Field(description="`HH:MM`, in `timezone`.")
    timezone: str = Field(description="The couple's time zone, which the local time is read in.")
    set_by: uuid.UUID | None
    next_due_at: UtcDateTime = Field(
        description="The next moment the ritual is due (the reminder's time), after now."
    )
    current_week_of: date = Field(
        description="The local date this week's ritual belongs to: the latest scheduled day."
    )
    updated_at: UtcDateTime

    @classmethod
    def from_view(cls, view: ScheduleView) -> Self:
        return cls(
            weekday=view.schedule.weekday,
            local_time=view.schedule.local_time.strftime("%H:%M"),
            timezone=view.timezone,
            set_by=view.schedule.set_by,
            next_due_at=view.next_due_at,
            current_week_of=view.week_of,
            updated_at=view.schedule.updated_at,
        )


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    step: WrittenStep = Field(description="`appreciations` or `went_well`: your current step.")
    text: RitualText


class CommitmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: RitualText = Field(description="A small thing you will do this coming week.")


class IssueIn(BaseModel):
    """Start a conversation (the default), attach one of the couple's, or skip."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"skip": {"const": True}}, "required": ["skip"]},
                    "then": {
                        "properties": {
                            "conversation_id": {"type": "null"},
                            "topic": {"type": "null"},
                            "first_speaker": {"type": "null"},
                        }
                    },
                },
                {
                    "if": {
                        "properties": {"conversation_id": {"type": "string"}},
                        "required": ["conversation_id"],
                    },
                    "then": {
                        "properties": {
                            "topic": {"type": "null"},
                            "first_speaker": {"type": "null"},
                        }
                    },
                },
            ]
        },
    )

    skip: bool = Field(default=False, description="Leave this week's issue out.")
    conversation_id: uuid.UUID | None = Field(
        default=None, description="Attach this conversation of your couple's."
    )
    topic: Topic | None = Field(default=None, description="The new conversation's topic.")
    first_speaker: FirstSpeaker | None = Field(
        default=None, description="Who holds the floor first in the new one (you by default)."
    )

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        starting = self.topic is not None or self.first_speaker is not None
        if self.skip and (self.conversation_id is not None or starting):
            raise ValueError("`skip` goes alone")
        if self.conversation_id is not None and starting:
            raise ValueError("attach a conversation, or start one with a topic: not both")
        return self


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author_id: uuid.UUID
    step: RitualStep
    text: str
    created_at: UtcDateTime


class CommitmentOut(BaseModel):
    id: uuid.UUID
    ritual_id: uuid.UUID
    owner_id: uuid.UUID
    text: str
    done: bool
    done_at: UtcDateTime | None
    created_at: UtcDateTime

    @classmethod
    def from_commitment(cls, commitment: RitualCommitment) -> Self:
        return cls(
            id=commitment.id,
            ritual_id=commitment.ritual_id,
            owner_id=commitment.owner_id,
            text=commitment.text,
            done=commitment.done_at is not None,
            done_at=commitment.done_at,
            created_at=commitment.created_at,
        )


class PartnerProgress(BaseModel):
    user_id: uuid.UUID
    finished_steps: list[RitualStep] = Field(description="The steps this partner finished.")
    current_step: RitualStep | None = Field(description="Null once they finished them all.")
    written: dict[RitualStep, int] = Field(
        description="How many entries or commitments they wrote per step (shown before the "
        "words are revealed)."
    )


class RitualOut(BaseModel):
    id: uuid.UUID
    week_of: date = Field(description="The scheduled local date the ritual's week starts on.")
    status: RitualStatus
    started_by: uuid.UUID | None
    my_step: RitualStep | None = Field(description="Your current step; null when done or closed.")
    partners: list[PartnerProgress]
    issue_done: bool
    conversation_id: uuid.UUID | None = Field(
        description="The speaker-listener conversation of this week's issue, if linked."
    )
    entries: list[EntryOut] = Field(
        description="Your own, and your partner's of each step you both finished (all, once "
        "the ritual closed)."
    )
    commitments: list[CommitmentOut] = Field(description="As `entries`, for next week's step.")
    completed_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def from_view(cls, view: RitualView) -> Self:
        ritual = view.ritual
        return cls(
            id=ritual.id,
            week_of=ritual.week_of,
            status=ritual.status,
            started_by=ritual.started_by,
            my_step=view.my_step,
            partners=view.partners,
            issue_done=ritual.issue_done,
            conversation_id=ritual.conversation_id,
            entries=[_entry(entry) for entry in view.entries],
            commitments=[CommitmentOut.from_commitment(c) for c in view.commitments],
            completed_at=ritual.completed_at,
            ended_at=ritual.ended_at,
            created_at=ritual.created_at,
            updated_at=ritual.updated_at,
        )


def _entry(entry: RitualEntry) -> EntryOut:
    return EntryOut.model_validate(entry)
