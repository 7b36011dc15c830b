"""Sign-up and the signed-in person's own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.core.etag import check_if_match, resource_response
from app.core.problems import (
    InsufficientScope,
    NotFound,
    PreconditionFailed,
    RateLimited,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.ratelimit import limit_sign_ups, password_confirmations
from app.core.security import Member, Scope, member
from app.db import SessionDep, write_session
from app.schemas.users import PasswordChange, UserCreate, UserOut, UserUpdate
from app.services import users as service

router = APIRouter(prefix="/v1")
AUTH_ERRORS = (Unauthorized, InsufficientScope)
Profile = Annotated[Member, member(Scope.profile)]


@router.post(
    "/users",
    tags=["users"],
    summary="Sign up",
    status_code=201,
    response_model=UserOut,
    responses=responses_for(service.EmailTaken, UnprocessableContent, RateLimited),
    dependencies=[Depends(limit_sign_ups)],
)
async def users_create(request: Request, data: UserCreate, session: SessionDep) -> Response:
    """Create an account. Sign in afterwards through the OAuth authorization code flow.

    Limited per IP address and for the whole server (`429` with `Retry-After`)."""
    user = await service.create_user(session, data, passwords=request.app.state.passwords)
    return resource_response(
        request, UserOut.model_validate(user), status_code=201, headers={"Location": "/v1/me"}
    )


@router.get(
    "/me",
    tags=["me"],
    summary="Get my profile",
    description=(
        "The signed-in person's profile. Carries an `ETag`: send it in `If-None-Match` to read "
        "only when it changed, in `If-Match` to update only the copy you read."
    ),
    response_model=UserOut,
    responses=responses_for(*AUTH_ERRORS, NotFound),
)
async def me_get(request: Request, me: Profile) -> Response:
    return resource_response(request, await service.get_profile(request.app.state.hot_reader, me))


@router.patch(
    "/me",
    tags=["me"],
    summary="Update my profile",
    response_model=UserOut,
    responses=responses_for(*AUTH_ERRORS, NotFound, PreconditionFailed, UnprocessableContent),
)
async def me_update(request: Request, data: UserUpdate, me: Profile) -> Response:
    """Change the display name, time zone or locale. Send `If-Match` to avoid lost updates."""
    writer = request.app.state.hot_reader
    if "if-match" not in request.headers and writer.on_postgres:
        return resource_response(request, await service.change_profile(writer, me, data))
    async with write_session(request) as session:
        current = None
        if "if-match" in request.headers:  # checked against the row as it stands, locked
            current = await service.lock_profile(session, me)
            check_if_match(request, current)
        changed = await service.update_profile(session, me, data, current)
    return resource_response(request, changed)


@router.post(
    "/me/password",
    tags=["me"],
    summary="Change my password",
    status_code=204,
    responses=responses_for(
        *AUTH_ERRORS, NotFound, service.WrongPassword, RateLimited, UnprocessableContent
    ),
)
async def me_change_password(
    request: Request, data: PasswordChange, me: Profile, session: SessionDep
) -> Response:
    """Change the password; every refresh and access token of the account is revoked, this
    request's included (sign in again)."""
    user = await service.get_user(session, me)
    await service.change_password(
        session,
        user,
        data,
        passwords=request.app.state.passwords,
        limiter=password_confirmations(request.app),
    )
    return Response(status_code=204)
