"""Insights about the caller's couple."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.clock import Now
from app.core.etag import resource_response
from app.core.problems import (
    FieldError,
    InsufficientScope,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.schemas.insights import InsightsOut
from app.services import insights as service
from app.services.couples import NoCouple

router = APIRouter(prefix="/v1", tags=["insights"])


@router.get(
    "/couples/me/insights",
    summary="Get insights about my couple",
    response_model=InsightsOut,
    responses=responses_for(Unauthorized, InsufficientScope, NoCouple, UnprocessableContent),
)
async def insights_get(
    request: Request,
    me: Annotated[Member, member(Scope.insights_read)],
    session: SessionDep,
    now: Now,
    window: Annotated[
        str,
        Query(
            pattern=r"^(0{0,2}[7-9]|0?[1-9][0-9]|[12][0-9]{2}|3[0-5][0-9]|36[0-5])d$",
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
    figures = await service.compute(session, me, days, now)
    resources = list(request.app.state.settings.support_resources)
    return resource_response(request, InsightsOut.from_insights(figures, resources))
