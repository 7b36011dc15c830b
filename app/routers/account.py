"""Closing one's own account: deletion (erased after a grace period) and the safety exit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.core.clock import Now
from app.core.problems import (
    InsufficientScope,
    NotFound,
    RateLimited,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.ratelimit import password_confirmations
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.schemas.account import AccountDeletion, AccountState, SafetyExit
from app.services import erasure, safety_exit

router = APIRouter(prefix="/v1", tags=["me"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
# What a call confirmed by the person's password may answer besides.
CONFIRMATION_ERRORS = (
    erasure.FirstPartyOnly,
    erasure.PasswordRefused,
    NotFound,
    RateLimited,
    UnprocessableContent,
)


def _state(user_state: AccountState, status_code: int) -> JSONResponse:
    return JSONResponse(user_state.model_dump(mode="json"), status_code=status_code)


@router.delete(
    "/me",
    summary="Delete my account",
    status_code=202,
    response_model=AccountState,
    responses=responses_for(*AUTH_ERRORS, *CONFIRMATION_ERRORS),
)
async def me_delete(
    request: Request,
    data: AccountDeletion,
    me: Annotated[Member, member(Scope.profile)],
    session: SessionDep,
    now: Now,
) -> JSONResponse:
    """Close the account now and erase it after the grace period (`RAPPORT_ERASURE_GRACE_DAYS`,
    7 days by default). Signing in again before `erase_after` cancels the erasure.

    Only first-party apps, with the `profile` scope and the person's password: a wrong
    password changes nothing (`403`; `429` after repeated failures). At once every access
    token, refresh token and sign-in session stops, the couple ends for the partner (the
    neutral `couple.ended`), and connected apps get `user.deleted`. Then everything the person
    wrote is deleted; a shared plan or agreement stays for the partner without their words."""
    user = await erasure.request_erasure(
        session,
        me,
        data.password.get_secret_value(),
        passwords=request.app.state.passwords,
        limiter=password_confirmations(request.app),
        now=now,
        grace_days=request.app.state.settings.erasure_grace_days,
    )
    return _state(AccountState.of(user), 202)


@router.post(
    "/me/safety-exit",
    summary="Leave safely",
    response_model=AccountState,
    responses=responses_for(*AUTH_ERRORS, *CONFIRMATION_ERRORS),
)
async def me_safety_exit(
    request: Request,
    data: SafetyExit,
    me: Annotated[Member, member(Scope.couple_write)],
    session: SessionDep,
    now: Now,
) -> JSONResponse:
    """For someone who needs to get out: leave the couple, sign out everywhere (every token
    and sign-in session of the caller stops, this one included), and never be paired with
    this partner again. The partner learns only that the couple ended, on which day — as
    after any unpair. Needs `couple:write`.

    `{"erase": true, "password": ...}` also deletes the account as `DELETE /v1/me` does
    (first-party apps only). See docs/safety-exit.md for what the app should do beside it."""
    password = data.password.get_secret_value() if data.password else None
    user = await safety_exit.safety_exit(
        session,
        me,
        safety_exit.ExitRequest(erase=data.erase, password=password),
        passwords=request.app.state.passwords,
        limiter=password_confirmations(request.app),
        now=now,
        grace_days=request.app.state.settings.erasure_grace_days,
    )
    return _state(AccountState.of(user), 200)
