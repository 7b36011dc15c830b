"""Couples: pairing through invites, the couple's settings, leaving."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.core.clock import Now
from app.core.etag import check_if_match, resource_response
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    PreconditionRequired,
    RateLimited,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.ratelimit import RateLimiter, shared_backend
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.schemas.couples import (
    CoupleCreate,
    CoupleCreated,
    CoupleOut,
    CoupleUpdate,
    InviteOut,
    JoinRequest,
)
from app.services import couples as service

router = APIRouter(prefix="/v1/couples", tags=["couples"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
JOIN_ATTEMPTS = 10
JOIN_WINDOW_SECONDS = 15 * 60
Reader = Annotated[Member, member(Scope.couple_read)]
Writer = Annotated[Member, member(Scope.couple_write)]


@router.post(
    "",
    summary="Start a couple",
    status_code=201,
    response_model=CoupleCreated,
    responses=responses_for(*AUTH_ERRORS, service.AlreadyInCouple, UnprocessableContent),
)
async def couples_create(
    request: Request, me: Writer, session: SessionDep, data: CoupleCreate | None = None
) -> Response:
    """Create a couple with you as its first partner. The response carries an invite code,
    shown once, for your partner to join with. The body is optional: the couple's settings,
    as `PATCH /v1/couples/me` takes them; the time zone and language default to yours."""
    view, invite, code = await service.create_couple(
        session, me, data, secret_key=request.app.state.settings.secret_key
    )
    body = CoupleCreated.from_created(view, invite, code)
    return resource_response(request, body, status_code=201, headers={"Location": "/v1/couples/me"})


@router.post(
    "/join",
    summary="Join a couple with an invite code",
    response_model=CoupleOut,
    responses=responses_for(
        *AUTH_ERRORS,
        service.InviteNotFound,
        service.InviteGone,
        service.AlreadyInCouple,
        service.OwnInvite,
        service.CoupleFull,
        RateLimited,
    ),
)
async def couples_join(
    request: Request, data: JoinRequest, me: Writer, session: SessionDep
) -> Response:
    """Join your partner's couple. Failed attempts are limited per person (10 per 15 minutes)
    so that codes cannot be guessed."""
    limiter = RateLimiter(
        shared_backend(request.app),
        name="couple-join",
        limit=JOIN_ATTEMPTS,
        window_seconds=JOIN_WINDOW_SECONDS,
    )
    # Count first, refund on success: parallel guesses cannot slip past the limit.
    await limiter.check(str(me.user_id))
    view = await service.join_couple(
        session, me, data.code, secret_key=request.app.state.settings.secret_key
    )
    await limiter.refund(str(me.user_id))
    return resource_response(request, CoupleOut.from_view(view))


@router.get(
    "/me",
    summary="Get my couple",
    description=(
        "The caller's active couple and its settings; 404 when the caller is in no couple."
    ),
    response_model=CoupleOut,
    responses=responses_for(*AUTH_ERRORS, service.NoCouple),
)
async def couples_get_mine(request: Request, me: Reader, session: SessionDep) -> Response:
    view = await service.get_my_couple(session, me)
    return resource_response(request, CoupleOut.from_view(view))


@router.patch(
    "/me",
    summary="Change my couple's settings",
    response_model=CoupleOut,
    responses=responses_for(
        *AUTH_ERRORS,
        service.NoCouple,
        PreconditionFailed,
        PreconditionRequired,
        UnprocessableContent,
    ),
)
async def couples_update_mine(
    request: Request, data: CoupleUpdate, me: Writer, session: SessionDep
) -> Response:
    """Both partners share these settings, so `If-Match` is required: a change made
    meanwhile by your partner is never silently overwritten."""
    view = await service.get_my_couple(session, me)
    check_if_match(request, CoupleOut.from_view(view), required=True)
    await service.update_couple(session, view.couple, data)
    return resource_response(request, CoupleOut.from_view(view))


@router.post(
    "/me/invites",
    summary="Issue a new invite code",
    status_code=201,
    response_model=InviteOut,
    responses=responses_for(*AUTH_ERRORS, service.NoCouple, service.CoupleFull),
)
async def couples_invites_create(request: Request, me: Writer, session: SessionDep) -> Response:
    """Replace any pending invite with a fresh code, valid for 72 hours and shown once."""
    invite, code = await service.issue_invite(
        session, me, secret_key=request.app.state.settings.secret_key
    )
    return resource_response(request, InviteOut.from_invite(invite, code), status_code=201)


@router.delete(
    "/me/invites/{invite_id}",
    summary="Withdraw an invite",
    description=(
        "Withdraws an invite code that nobody has used yet: it can no longer be used to join."
    ),
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.NoCouple, service.InviteNotFound),
)
async def couples_invites_revoke(invite_id: uuid.UUID, me: Writer, session: SessionDep) -> Response:
    await service.revoke_invite(session, me, invite_id)
    return Response(status_code=204)


@router.post(
    "/me/leave",
    summary="Leave my couple",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.NoCouple),
)
async def couples_leave(me: Writer, session: SessionDep, now: Now) -> Response:
    """End the couple for both partners. Nothing is deleted: each keeps their own answers and
    what was revealed before the end. Your partner is told, with no reason attached."""
    await service.leave_couple(session, me, now)
    return Response(status_code=204)
