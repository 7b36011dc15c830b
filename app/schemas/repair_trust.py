"""Trust ratings of a repair plan, their weekly medians and each partner's trend."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

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


class TrustTrendOut(BaseModel):
    """Whether this partner's trust is rising, flat or falling over the last weeks of the
    plan; `docs/insights.md` gives the method."""

    model_config = ConfigDict(from_attributes=True)

    direction: Literal["rising", "flat", "falling", "insufficient"] = Field(
        description="`insufficient` while fewer than 3 weeks of the window have ratings."
    )
    change: float | None = Field(
        description="The fitted change in points (0 to 10 scale) across the window's rated "
        "weeks; null when `insufficient`. Flat is within ±1.0."
    )
    weeks_with_ratings: int = Field(description="Weeks of the window with at least one rating.")
    window_start: date = Field(description="The Monday the 6-week window starts on.")
    window_end: date = Field(
        description="The Sunday it ends on: this week's, or the week the plan ended in."
    )


class PartnerTrustOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    ratings: list[TrustRatingOut] = Field(description="Oldest first.")
    weekly_medians: list[WeeklyMedianOut] = Field(description="Weeks with ratings, oldest first.")
    trend: TrustTrendOut


class TrustSeriesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    plan_id: uuid.UUID
    timezone: str
    partners: list[PartnerTrustOut]
