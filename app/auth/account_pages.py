"""The account pages beside sign-in: create an account, forgot and reset a password,
verify an email address (and send the link again).

Like sign-in they are plain HTML forms with the signed double-submit CSRF token and rate
limits, and they leave the rules to the services (app/services/account_tokens.py). Asking
for a reset shows the same page, after the same work (a lookup and maybe a row; no mail is
sent in the request), whether or not the address has an account.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from app.auth import verify_pages
from app.auth.account_web import (
    FORGOT_PATH,
    client_ip,
    clock_now,
    form_fields,
    ip_limit,
    link_refused,
    message_page,
    throttled,
)
from app.auth.pages import _message, _settings, safe_next
from app.auth.web import CSRF_FIELD, csrf_valid, render, set_sign_in
from app.core.problems import Conflict, UnprocessableContent
from app.db import SessionDep, WriteSessionDep
from app.email.rendering import language_for
from app.models.account_tokens import TokenPurpose
from app.schemas.users import UserCreate
from app.services import account_tokens as tokens
from app.services.users import create_user, normalise_email

router = APIRouter(include_in_schema=False)

router.include_router(verify_pages.router)

SIGN_UP_PATH = "/oauth/sign-up"
RESET_PATH = "/oauth/reset-password"

# -- create an account ----------------------------------------------------------------------


@router.get(SIGN_UP_PATH)
async def sign_up_page(request: Request, next: str = "") -> Response:
    return _sign_up_form(request, safe_next(next), email="", display_name="", error=None)


def _sign_up_form(
    request: Request,
    next_url: str,
    *,
    email: str,
    display_name: str,
    error: str | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        _settings(request),
        "sign_up.html",
        status_code=status_code,
        next=next_url,
        email=email,
        display_name=display_name,
        error=error,
    )


def _first_error(error: ValidationError) -> str:
    problem = error.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else ""
    label = {"email": "Email", "password": "Password", "display_name": "Your name"}.get(field)
    detail = str(problem["msg"]).removeprefix("Value error, ")
    return f"{label}: {detail}" if label else detail


@router.post(SIGN_UP_PATH)
async def sign_up(request: Request, session: WriteSessionDep) -> Response:
    settings = _settings(request)
    form = await request.form()
    email, password, display_name, next_raw, token = form_fields(
        form, "email", "password", "display_name", "next", CSRF_FIELD
    )
    next_url = safe_next(next_raw)

    def again(error: str, status_code: int = 400) -> Response:
        return _sign_up_form(
            request,
            next_url,
            email=email,
            display_name=display_name,
            error=error,
            status_code=status_code,
        )

    if not csrf_valid(request, settings, token):
        return again("The form expired. Please try again.")
    refused = await throttled(
        request,
        (
            "sign-up-ip",
            client_ip(request),
            settings.signup_max_per_ip,
            settings.signup_ip_window_seconds,
        ),
        ("sign-up", "all", settings.signup_max_global, settings.signup_global_window_seconds),
    )
    if refused is not None:
        return refused
    locale = language_for(request.headers.get("accept-language"))
    try:
        data = UserCreate(email=email, password=password, display_name=display_name, locale=locale)
        user = await create_user(session, data, passwords=request.app.state.passwords)
    except ValidationError as error:
        return again(_first_error(error), 422)
    except Conflict:
        return again(
            "An account with this email may already exist. Sign in, or reset your password "
            "if you forgot it.",
            409,
        )
    except UnprocessableContent as error:
        return again(error.detail or error.title, 422)
    await tokens.request_verification(
        session,
        user,
        secret_key=settings.secret_key,
        ttl=timedelta(seconds=settings.email_verification_ttl_seconds),
        now=clock_now(request),
    )
    response: Response
    if next_url:
        response = RedirectResponse(next_url, status_code=303)
    else:
        response = _message(
            request,
            "Your account is ready",
            f"We sent a link to {user.email} to confirm your address. You can close this page.",
            status_code=200,
        )
    set_sign_in(response, settings, user.id)
    return response


# -- forgot and reset a password ------------------------------------------------------------


@router.get(FORGOT_PATH)
async def forgot_password_page(request: Request) -> Response:
    return render(request, _settings(request), "forgot_password.html", email="", error=None)


@router.post(FORGOT_PATH)
async def forgot_password(request: Request, session: WriteSessionDep) -> Response:
    settings = _settings(request)
    form = await request.form()
    email, token = form_fields(form, "email", CSRF_FIELD)
    if not csrf_valid(request, settings, token):
        return render(
            request,
            settings,
            "forgot_password.html",
            status_code=400,
            email=email,
            error="The form expired. Please try again.",
        )
    refused = await throttled(
        request,
        ip_limit(request, "account-email-ip"),
        (
            "account-email",
            normalise_email(email),
            settings.account_email_max_per_window,
            settings.login_window_seconds,
        ),
    )
    if refused is not None:
        return refused
    if "@" in email and len(email) <= 320:
        await tokens.request_password_reset(
            session,
            email,
            secret_key=settings.secret_key,
            ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
            now=clock_now(request),
        )
    return message_page(
        request,
        "Check your email",
        "If an account uses this address, we sent it a link to choose a new password. "
        f"The link works for {settings.password_reset_ttl_seconds // 60} minutes.",
        links=[(FORGOT_PATH, "Nothing arrived? Ask again"), ("/oauth/sign-in", "Back to sign in")],
    )


def _reset_form(
    request: Request, token: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        _settings(request),
        "reset_password.html",
        status_code=status_code,
        token=token,
        error=error,
    )


@router.get(RESET_PATH)
async def reset_password_page(request: Request, session: SessionDep, token: str = "") -> Response:
    try:
        await tokens.check(session, token, TokenPurpose.reset_password, clock_now(request))
    except tokens.TokenRefused:
        return link_refused(request, TokenPurpose.reset_password)
    return _reset_form(request, token)


@router.post(RESET_PATH)
async def reset_password(request: Request, session: WriteSessionDep) -> Response:
    settings = _settings(request)
    form = await request.form()
    token, password, confirm, csrf = form_fields(form, "token", "password", "confirm", CSRF_FIELD)
    if not csrf_valid(request, settings, csrf):
        return _reset_form(
            request, token, error="The form expired. Please try again.", status_code=400
        )
    refused = await throttled(request, ip_limit(request, "password-reset-ip"))
    if refused is not None:
        return refused
    if password != confirm:
        return _reset_form(
            request, token, error="The two passwords are not the same.", status_code=422
        )
    try:
        await tokens.reset_password(
            session, token, password, passwords=request.app.state.passwords, now=clock_now(request)
        )
    except tokens.TokenRefused:
        return link_refused(request, TokenPurpose.reset_password)
    except UnprocessableContent as error:
        return _reset_form(request, token, error=error.detail or error.title, status_code=422)
    return render(request, settings, "password_changed.html")
