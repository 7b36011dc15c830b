"""Trust ratings of a repair plan, their weekly medians and each partner's trend."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import UtcDateTime
from app.schemas.repair_templates import Note, Score, _Input


class TrustRatingIn(_Input):
    score: Score
    note: Note | None = None
    share_note: bool = Field(default=False, description="Let your partner read the note.")


class TrustRatingUpdate(_Input):
    share_note: bool


class TrustRatingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    score: int
    note: str | None = Field(description="Null when there is none, or it is not shared with you.")
    note_shared: bool
    recorded_at: UtcDateTime
    local_date: date


class WeeklyMedianOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    week_start: date = Field(description="The Monday of the week, in your couple's time zone.")
    median: float
    count: int


class PartnerTrustOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    ratings: list[TrustRatingOut] = Field(description="Oldest first.")
    weekly_medians: list[WeeklyMedianOut] = Field(description="Weeks with ratings, oldest first.")


class TrustSeriesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    plan_id: uuid.UUID
    timezone: str
    partners: list[PartnerTrustOut]
