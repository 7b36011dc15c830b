"""Insights about a couple: every figure is defined in docs/insights.md."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from app.config import SupportResource
from app.models.prompts import Category


class PartnerSharingOut(BaseModel):
    user_id: uuid.UUID
    revealed_answers: int
    shared_checkins: int
    reflections_given: int
    total: int


class SharingBalance(BaseModel):
    partners: list[PartnerSharingOut]
    balance_index: float | None = Field(
        description="1 when both partners share equally, 0 when only one does; "
        "null without sharing."
    )
    one_sided: bool
    threshold: float


class LightAndDeep(BaseModel):
    revealed_days: int
    by_category: dict[Category, int]
    by_depth: dict[str, int] = Field(description='Keys "1", "2" and "3".')
    deep_share: float | None
    play_in_last_14_days: bool
    too_heavy: bool


class ListenerResponsiveness(BaseModel):
    user_id: uuid.UUID = Field(description="The partner as listener.")
    shares_received: int
    responded: int
    response_rate: float | None
    median_seconds_to_reflection: float | None


class Streak(BaseModel):
    days: int
    today_open: bool


class MoodWeekOut(BaseModel):
    week_start: date
    average: float
    check_ins: int


class PartnerMood(BaseModel):
    user_id: uuid.UUID
    includes_private: bool = Field(
        description="True only in your own figure, which also counts your private check-ins."
    )
    weeks: list[MoodWeekOut]


class SupportReason(BaseModel):
    code: str
    message: str


class SupportSuggestion(BaseModel):
    suggested: bool
    reasons: list[SupportReason]
    message: str | None
    resources: list[SupportResource]


class InsightsOut(BaseModel):
    window_days: int
    from_date: date
    to_date: date
    sharing: SharingBalance
    light_and_deep: LightAndDeep
    responsiveness: list[ListenerResponsiveness]
    streak: Streak
    mood: list[PartnerMood]
    suggest_professional_support: SupportSuggestion
