"""What the account pages share: form fields, the clock, rate limits, message pages."""

from __future__ import annotations

from datetime import datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from app.auth.pages import VERIFY_PATH, _message, _settings
from app.auth.web import render
from app.core.ratelimit import RateLimiter, shared_backend
from app.models.account_tokens import TokenPurpose

FORGOT_PATH = "/oauth/forgot-password"

LINK_REFUSED = (
    "This link has expired or was already used. Ask for a new one: only the newest link works."
)


def form_fields(form: FormData, *names: str) -> list[str]:
    return [value if isinstance(value := form.get(name), str) else "" for name in names]


def clock_now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def expired_page(request: Request) -> Response:
    return _message(
        request,
        "This page has expired",
        "For your safety the form could not be accepted. Reload the page and try again.",
        status_code=400,
    )


async def throttled(request: Request, *limits: tuple[str, str, int, int]) -> Response | None:
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


def ip_limit(request: Request, name: str) -> tuple[str, str, int, int]:
    settings = _settings(request)
    return (name, client_ip(request), settings.login_max_failures, settings.login_window_seconds)


def message_page(
    request: Request,
    title: str,
    message: str,
    *,
    links: list[tuple[str, str]],
    status_code: int = 200,
) -> Response:
    """A message page with links to go on from it."""
    return render(
        request,
        _settings(request),
        "message.html",
        status_code=status_code,
        title=title,
        message=message,
        detail=None,
        role="alert" if status_code >= 400 else None,
        links=links,
    )


def link_refused(request: Request, purpose: TokenPurpose) -> Response:
    again = (
        (FORGOT_PATH, "Ask for a new link")
        if purpose is TokenPurpose.reset_password
        else (VERIFY_PATH, "Get a new link")
    )
    return message_page(
        request, "This link does not work", LINK_REFUSED, links=[again], status_code=400
    )
