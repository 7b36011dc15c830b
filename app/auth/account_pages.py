"""The account pages beside sign-in: create an account, forgot and reset a password,
verify an email address (and send the link again).

Like sign-in they are plain HTML forms with the signed double-submit CSRF token and rate
limits, and they leave the rules to the services (app/services/account_tokens.py). Asking
for a reset shows the same page, after the same work (a lookup and maybe a row; no mail is
sent in the request), whether or not the address has an account.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from app.auth.pages import VERIFY_PATH, _message, _settings, _signed_in_user, safe_next
from app.auth.web import CSRF_FIELD, csrf_valid, render, set_sign_in
from app.core.problems import Conflict, UnprocessableContent
from app.core.ratelimit import RateLimiter, shared_backend
from app.db import SessionDep, WriteSessionDep
from app.email.rendering import language_for
from app.models.account_tokens import TokenPurpose
from app.schemas.users import UserCreate
from app.services import account_tokens as tokens
from app.services.users import create_user, normalise_email

router = APIRouter(include_in_schema=False)

SIGN_UP_PATH = "/oauth/sign-up"
FORGOT_PATH = "/oauth/forgot-password"
RESET_PATH = "/oauth/reset-password"

RESEND_PATH = "/oauth/verify-email/resend"

LINK_REFUSED = (
    "This link has expired or was already used. Ask for a new one: only the newest link works."
)


def _fields(form: FormData, *names: str) -> list[str]:
    return [value if isinstance(value := form.get(name), str) else "" for name in names]


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _expired(request: Request) -> Response:
    return _message(
        request,
        "This page has expired",
        "For your safety the form could not be accepted. Reload the page and try again.",
        status_code=400,
    )


async def _throttled(request: Request, *limits: tuple[str, str, int, int]) -> Response | None:
    """Count one attempt under each (policy, key, limit, window); a 429 page when over."""
    backend = shared_backend(request.app)
    for name, key, limit, window in limits:
        result = await RateLimiter(backend, name=name, limit=limit, window_seconds=window).hit(key)
        if not result.allowed:
            minutes = max(1, round(result.retry_after / 60))
            return _message(
                request,
                "Too many attempts",
                f"For the safety of your account, wait {minutes} "
                f"minute{'s' if minutes != 1 else ''} before trying again.",
                status_code=429,
                headers=result.headers(),
            )
    return None


def _ip_limit(request: Request, name: str) -> tuple[str, str, int, int]:
    settings = _settings(request)
    return (name, _ip(request), settings.login_max_failures, settings.login_window_seconds)


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
    email, password, display_name, next_raw, token = _fields(
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
    refused = await _throttled(
        request,
        ("sign-up-ip", _ip(request), settings.signup_max_per_ip, settings.signup_ip_window_seconds),
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
        now=_now(request),
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
    email, token = _fields(form, "email", CSRF_FIELD)
    if not csrf_valid(request, settings, token):
        return render(
            request,
            settings,
            "forgot_password.html",
            status_code=400,
            email=email,
            error="The form expired. Please try again.",
        )
    refused = await _throttled(
        request,
        _ip_limit(request, "account-email-ip"),
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
            now=_now(request),
        )
    return _message(
        request,
        "Check your email",
        "If an account uses this address, we sent it a link to choose a new password. "
        f"The link works for {settings.password_reset_ttl_seconds // 60} minutes.",
        status_code=200,
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


def _link_refused(request: Request) -> Response:
    return _message(request, "This link does not work", LINK_REFUSED, status_code=400)


@router.get(RESET_PATH)
async def reset_password_page(request: Request, session: SessionDep, token: str = "") -> Response:
    try:
        await tokens.check(session, token, TokenPurpose.reset_password, _now(request))
    except tokens.TokenRefused:
        return _link_refused(request)
    return _reset_form(request, token)


@router.post(RESET_PATH)
async def reset_password(request: Request, session: WriteSessionDep) -> Response:
    settings = _settings(request)
    form = await request.form()
    token, password, confirm, csrf = _fields(form, "token", "password", "confirm", CSRF_FIELD)
    if not csrf_valid(request, settings, csrf):
        return _reset_form(
            request, token, error="The form expired. Please try again.", status_code=400
        )
    refused = await _throttled(request, _ip_limit(request, "password-reset-ip"))
    if refused is not None:
        return refused
    if password != confirm:
        return _reset_form(
            request, token, error="The two passwords are not the same.", status_code=422
        )
    try:
        await tokens.reset_password(
            session, token, password, passwords=request.app.state.passwords, now=_now(request)
        )
    except tokens.TokenRefused:
        return _link_refused(request)
    except UnprocessableContent as error:
        return _reset_form(request, token, error=error.detail or error.title, status_code=422)
    return render(request, settings, "password_changed.html")


# -- verify an email address ----------------------------------------------------------------


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
        await tokens.check(session, token, TokenPurpose.verify_email, _now(request))
    except tokens.TokenRefused:
        return _link_refused(request)
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
    token, csrf = _fields(await request.form(), "token", CSRF_FIELD)
    if not csrf_valid(request, _settings(request), csrf):
        return _expired(request)
    refused = await _throttled(request, _ip_limit(request, "verify-email-ip"))
    if refused is not None:
        return refused
    try:
        await tokens.verify_email(session, token, now=_now(request))
    except tokens.TokenRefused:
        return _link_refused(request)
    return _message(
        request,
        "Your email address is confirmed",
        "Thank you. You can close this page.",
        status_code=200,
    )


@router.post(RESEND_PATH)
async def resend_verification(request: Request, session: WriteSessionDep) -> Response:
    settings = _settings(request)
    (csrf,) = _fields(await request.form(), CSRF_FIELD)
    if not csrf_valid(request, settings, csrf):
        return _expired(request)
    user, _ = await _signed_in_user(request, session)
    if user is None:
        return RedirectResponse(
            f"/oauth/sign-in?{urlencode({'next': VERIFY_PATH})}", status_code=303
        )
    refused = await _throttled(
        request,
        _ip_limit(request, "account-email-ip"),
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
        now=_now(request),
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
