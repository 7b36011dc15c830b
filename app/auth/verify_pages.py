"""Verifying an email address: the mailed link's page, and sending the link again."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from app.auth.account_web import (
    clock_now,
    expired_page,
    form_fields,
    ip_limit,
    link_refused,
    throttled,
)
from app.auth.pages import VERIFY_PATH, _message, _settings, _signed_in_user
from app.auth.web import CSRF_FIELD, csrf_valid, render
from app.db import SessionDep, WriteSessionDep
from app.models.account_tokens import TokenPurpose
from app.services import account_tokens as tokens

router = APIRouter(include_in_schema=False)

RESEND_PATH = "/oauth/verify-email/resend"


async def _verify_status(request: Request, session: AsyncSession) -> Response:
    user, _ = await _signed_in_user(request, session)
    return render(
        request,
        _settings(request),
        "verify_email.html",
        token="",
        email=user.email if user else None,
        verified=bool(user and user.email_verified_at),
        sent=False,
    )


@router.get(VERIFY_PATH)
async def verify_email_page(request: Request, session: SessionDep, token: str = "") -> Response:
    """With a token: a button that confirms (a link opened by a mail scanner changes
    nothing). Without: whether the signed-in person's address is verified, and a resend."""
    if not token:
        return await _verify_status(request, session)
    try:
        await tokens.check(session, token, TokenPurpose.verify_email, clock_now(request))
    except tokens.TokenRefused:
        return link_refused(request, TokenPurpose.verify_email)
    return render(
        request,
        _settings(request),
        "verify_email.html",
        token=token,
        email=None,
        verified=False,
        sent=False,
    )


@router.post(VERIFY_PATH)
async def verify_email(request: Request, session: WriteSessionDep) -> Response:
    token, csrf = form_fields(await request.form(), "token", CSRF_FIELD)
    if not csrf_valid(request, _settings(request), csrf):
        return expired_page(request)
    refused = await throttled(request, ip_limit(request, "verify-email-ip"))
    if refused is not None:
        return refused
    try:
        await tokens.verify_email(session, token, now=clock_now(request))
    except tokens.TokenRefused:
        return link_refused(request, TokenPurpose.verify_email)
    return _message(
        request,
        "Your email address is confirmed",
        "Thank you. You can close this page.",
        status_code=200,
    )


@router.post(RESEND_PATH)
async def resend_verification(request: Request, session: WriteSessionDep) -> Response:
    settings = _settings(request)
    (csrf,) = form_fields(await request.form(), CSRF_FIELD)
    if not csrf_valid(request, settings, csrf):
        return expired_page(request)
    user, _ = await _signed_in_user(request, session)
    if user is None:
        return RedirectResponse(
            f"/oauth/sign-in?{urlencode({'next': VERIFY_PATH})}", status_code=303
        )
    refused = await throttled(
        request,
        ip_limit(request, "account-email-ip"),
        (
            "account-email",
            user.email_normalized,
            settings.account_email_max_per_window,
            settings.login_window_seconds,
        ),
    )
    if refused is not None:
        return refused
    await tokens.request_verification(
        session,
        user,
        secret_key=settings.secret_key,
        ttl=timedelta(seconds=settings.email_verification_ttl_seconds),
        now=clock_now(request),
    )
    return render(
        request,
        settings,
        "verify_email.html",
        token="",
        email=user.email,
        verified=user.email_verified_at is not None,
        sent=user.email_verified_at is None,
    )
