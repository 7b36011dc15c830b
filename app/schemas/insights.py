"""Insights about a couple: every figure is defined in docs/insights.md."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from app.config import SupportResource
from app.models.prompts import Category

if TYPE_CHECKING:
    from app.services.insights import Insights

SUPPORT_MESSAGES = {
    "low_shared_mood": (
        "Shared check-ins have been low for two weeks or more. Talking it through with a "
        "couples therapist can help; many couples find it useful."
    ),
    "trust_not_rising": (
        "Trust ratings have not risen for six weeks. A couples therapist can help you both "
        "find your way back to feeling safe together."
    ),
}
SUPPORT_SUMMARY = (
    "This is not a diagnosis: it is a gentle pointer, based on what you both recorded, that "
    "support from a professional might help right now."
)


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
    activities_done: int = Field(
        description="Activities you planned together in the window and both said how they "
        "went: light moments, counted beside the revealed days."
    )
    light_moments: int = Field(description="Depth-1 revealed days plus `activities_done`.")
    deep_share: float | None = Field(
        description="Depth-3 days over revealed days plus done activities; null with none."
    )
    play_in_last_14_days: bool = Field(
        description="A `play` prompt revealed, or an activity done, in the last 14 days."
    )
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
        description="True only in your own figure, and only through Rapport's own apps: "
        "it then also counts your private check-ins."
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

    @classmethod
    def from_insights(cls, figures: Insights, resources: list[SupportResource]) -> Self:
        """`resources`: where to find professional support, offered with a suggestion."""
        return cls(
            window_days=figures.window_days,
            from_date=figures.from_date,
            to_date=figures.to_date,
            sharing=SharingBalance(
                partners=[
                    PartnerSharingOut(
                        user_id=p.user_id,
                        revealed_answers=p.revealed_answers,
                        shared_checkins=p.shared_checkins,
                        reflections_given=p.reflections_given,
                        total=p.total,
                    )
                    for p in figures.sharing
                ],
                balance_index=figures.balance_index,
                one_sided=figures.one_sided,
                threshold=figures.balance_threshold,
            ),
            light_and_deep=LightAndDeep(
                revealed_days=figures.revealed_days,
                by_category=figures.by_category,
                by_depth={str(depth): count for depth, count in figures.by_depth.items()},
                activities_done=figures.activities_done,
                light_moments=figures.light_moments,
                deep_share=None if figures.deep_share is None else round(figures.deep_share, 3),
                play_in_last_14_days=figures.play_in_lookback,
                too_heavy=figures.too_heavy,
            ),
            responsiveness=[
                ListenerResponsiveness(
                    user_id=r.responder_id,
                    shares_received=r.shares_received,
                    responded=r.responded,
                    response_rate=None if r.rate is None else round(r.rate, 3),
                    median_seconds_to_reflection=r.median_seconds,
                )
                for r in figures.responsiveness
            ],
            streak=Streak(days=figures.streak_days, today_open=figures.today_open),
            mood=[
                PartnerMood(
                    user_id=user_id,
                    includes_private=figures.private_counted and user_id == figures.viewer,
                    weeks=[
                        MoodWeekOut(week_start=w.week_start, average=w.average, check_ins=w.count)
                        for w in weeks
                    ],
                )
                for user_id, weeks in figures.mood.items()
            ],
            suggest_professional_support=SupportSuggestion(
                suggested=bool(figures.support_reasons),
                reasons=[
                    SupportReason(code=code, message=SUPPORT_MESSAGES[code])
                    for code in figures.support_reasons
                ],
                message=SUPPORT_SUMMARY if figures.support_reasons else None,
                resources=resources if figures.support_reasons else [],
            ),
        )
