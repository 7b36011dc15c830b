"""Insights about the caller's couple."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.config import SupportResource
from app.core.clock import Now
from app.core.etag import resource_response
from app.core.problems import (
    FieldError,
    InsufficientScope,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.schemas.insights import (
    InsightsOut,
    LightAndDeep,
    ListenerResponsiveness,
    MoodWeekOut,
    PartnerMood,
    PartnerSharingOut,
    SharingBalance,
    Streak,
    SupportReason,
    SupportSuggestion,
)
from app.services import insights as service
from app.services.couples import NoCouple, require_couple

router = APIRouter(prefix="/v1", tags=["insights"])

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


def insights_out(
    figures: service.Insights, viewer: uuid.UUID, resources: list[SupportResource]
) -> InsightsOut:
    return InsightsOut(
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
            threshold=service.BALANCE_THRESHOLD,
        ),
        light_and_deep=LightAndDeep(
            revealed_days=figures.revealed_days,
            by_category=figures.by_category,
            by_depth={str(depth): count for depth, count in figures.by_depth.items()},
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
                includes_private=user_id == viewer,
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
                SupportReason(code=c, message=SUPPORT_MESSAGES[c]) for c in figures.support_reasons
            ],
            message=SUPPORT_SUMMARY if figures.support_reasons else None,
            resources=resources if figures.support_reasons else [],
        ),
    )


@router.get(
    "/couples/me/insights",
    summary="Get insights about my couple",
    response_model=InsightsOut,
    responses=responses_for(Unauthorized, InsufficientScope, NoCouple, UnprocessableContent),
)
async def insights_get(
    request: Request,
    actor: Annotated[Actor, require(Scope.insights_read)],
    session: SessionDep,
    now: Now,
    window: Annotated[
        str,
        Query(
            pattern=r"^[0-9]{1,3}d$",
            description="How many days back the figures look, from 7d to 365d.",
        ),
    ] = "30d",
) -> Response:
    """Sharing balance, light and deep, responsiveness, streak, mood, and whether to suggest
    a couples therapist. Your partner's figures use only what they shared with you."""
    days = int(window.removesuffix("d"))
    if not 7 <= days <= 365:
        raise UnprocessableContent(
            "The window must be between 7d and 365d.",
            errors=[FieldError(parameter="window", detail="must be between 7d and 365d")],
        )
    viewer = actor.require_user()
    couple = await require_couple(session, viewer)
    figures = await service.compute(session, couple, viewer, days, now)
    resources = list(request.app.state.settings.support_resources)
    return resource_response(request, insights_out(figures, viewer, resources))
