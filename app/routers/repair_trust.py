"""Trust ratings of a couple's repair plan: recording them and reading them over time."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.core.clock import Now
from app.core.etag import resource_response
from app.core.problems import UnprocessableContent, responses_for
from app.db import SessionDep
from app.routers.repair_http import PLAN_ERRORS, PLANS, Reader, Writer
from app.schemas.repair_trust import (
    TrustRatingIn,
    TrustRatingOut,
    TrustRatingUpdate,
    TrustSeriesOut,
)
from app.services import repair_access as access
from app.services import repair_trust as trust

router = APIRouter(prefix="/v1", tags=["repair-plans"])


@router.post(
    PLANS + "/{plan_id}/trust-ratings",
    summary="Record a trust rating",
    status_code=201,
    response_model=TrustRatingOut,
    responses=responses_for(*PLAN_ERRORS, access.PlanNotActive, UnprocessableContent),
)
async def repair_trust_ratings_create(
    request: Request,
    plan_id: uuid.UUID,
    data: TrustRatingIn,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """How safe and trusting you feel now, 0 to 10, while the plan is active or paused. Your
    partner sees the score; the note only if you share it."""
    rating = await trust.record_rating(session, me, plan_id, data, now)
    body = TrustRatingOut.model_validate(rating)
    return resource_response(request, body, status_code=201)


@router.get(
    PLANS + "/{plan_id}/trust-ratings",
    summary="Get the trust ratings of a plan",
    response_model=TrustSeriesOut,
    responses=responses_for(*PLAN_ERRORS),
)
async def repair_trust_ratings_get(
    request: Request, plan_id: uuid.UUID, me: Reader, session: SessionDep, now: Now
) -> Response:
    """Each partner's ratings, oldest first, their weekly medians (weeks from Monday, in
    your couple's time zone) and whether their trust is rising, flat or falling over the last
    6 weeks. Your partner's notes appear only where they shared them."""
    series = await trust.plan_series(session, me, plan_id, now)
    return resource_response(request, TrustSeriesOut.model_validate(series))


@router.patch(
    PLANS + "/{plan_id}/trust-ratings/{rating_id}",
    summary="Share or unshare a trust rating's note",
    response_model=TrustRatingOut,
    responses=responses_for(*PLAN_ERRORS, trust.RatingNotFound, UnprocessableContent),
)
async def repair_trust_ratings_update(
    request: Request,
    plan_id: uuid.UUID,
    rating_id: uuid.UUID,
    data: TrustRatingUpdate,
    me: Writer,
    session: SessionDep,
) -> Response:
    """Only your own ratings; the score never changes."""
    rating = await trust.share_note(session, me, plan_id, rating_id, data.share_note)
    return resource_response(request, TrustRatingOut.model_validate(rating))
