"""The server-rendered pages of the authorization endpoint: sign-in and consent.

Plain HTML forms that work without JavaScript, protected by a signed double-submit CSRF
token. Left out of the OpenAPI schema: browsers use them, API clients never call them.

GET /oauth/authorize validates the request first: a bad client or redirect URI gets an error
page (never a redirect to an unregistered URI); other errors go back to the client. Then a
person who is not signed in is sent to /oauth/sign-in, which returns to the authorization
request; a signed-in person is asked to consent unless the client is first-party or the
person already granted every scope asked for.

Scopes: a request naming a scope the client is not registered for is refused with
`invalid_scope` before anyone signs in. Granted are the requested scopes the person's role
permits (`app.core.scopes`); the token response's `scope` names them. A request without
`scope` gets the client's allowed *member* scopes, never admin or partner ones.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from app.auth.federation import federation_buttons
from app.auth.server import OAuthRequest, RapportAuthorizationServer, read_oauth_request
from app.auth.web import (
    CSRF_FIELD,
    clear_sign_in,
    csrf_valid,
    read_sign_in,
    render,
    set_sign_in,
)
from app.config import Settings
from app.core.ratelimit import RateLimiter, shared_backend
from app.core.security import (
    SCOPE_DESCRIPTIONS,
    SENSITIVE_SCOPE_WARNINGS,
    SENSITIVE_SCOPES,
    Scope,
)
from app.db import SessionDep, WriteSessionDep
from app.models.users import User
from app.services import oauth as service
from app.services.clients import get_client
from app.services.erasure import signed_in_again

router = APIRouter(include_in_schema=False)

AUTHORIZE_PATH = "/oauth/authorize"
SIGN_IN_PATH = "/oauth/sign-in"
LOGOUT_PATH = "/oauth/logout"
VERIFY_PATH = "/oauth/verify-email"
CONSOLE_PATH = re.compile(r"^/console(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._~-]+)*/?$")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def safe_next(value: str | None) -> str:
    """Only an authorization request, a console page or the email verification page on this
    server is a place to return to after sign-in."""
    if not value or "\\" in value:
        return ""
    parts = urlsplit(value)
    if not parts.scheme and not parts.netloc and CONSOLE_PATH.match(parts.path):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    if not parts.scheme and not parts.netloc and not parts.query and parts.path == VERIFY_PATH:
        return VERIFY_PATH
    if parts.scheme or parts.netloc or parts.path != AUTHORIZE_PATH:
        return ""
    return AUTHORIZE_PATH + (f"?{parts.query}" if parts.query else "")


def _sign_in_redirect(authorize_url: str) -> Response:
    return RedirectResponse(f"{SIGN_IN_PATH}?{urlencode({'next': authorize_url})}", status_code=303)


def _message(
    request: Request,
    title: str,
    message: str,
    *,
    status_code: int,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        _settings(request),
        "message.html",
        status_code=status_code,
        headers=headers,
        title=title,
        message=message,
        detail=detail,
        role="alert" if status_code >= 400 else None,
    )


async def _signed_in_user(
    request: Request, session: AsyncSession
) -> tuple[User | None, datetime | None]:
    sign_in = read_sign_in(request, _settings(request))
    if sign_in is None:
        return None, None
    user = await session.get(User, sign_in.user_id)
    auth_time = datetime.fromtimestamp(sign_in.auth_time, UTC)
    if user is None:
        return None, None
    # A password changed since this sign-in ends it, as do a deletion and a safety exit.
    ended_at = max(filter(None, (user.password_changed_at, user.signed_out_at)), default=None)
    if ended_at is not None and ended_at > auth_time:
        return None, None
    return user, auth_time


async def _authorize(
    request: Request, session: AsyncSession, oauth_request: OAuthRequest, decision: str | None
) -> Response:
    server = await RapportAuthorizationServer.open(request, session, oauth_request)
    user, oauth_request.auth_time = await _signed_in_user(request, session)
    try:
        grant = await server.run(server.get_consent_grant, oauth_request, user)
    except OAuth2Error as error:
        if error.redirect_uri:
            redirect: Response = server.handle_error_response(oauth_request, error)
            return redirect
        return _message(
            request,
            "This sign-in link does not work",
            "The app that sent you here made a request this server cannot accept, so you were "
            "not sent back to it. Close this page and try again from the app.",
            status_code=400,
            detail=f"{error.error}: {error.get_error_description() or ''}".rstrip(": "),
        )
    authorize_url = AUTHORIZE_PATH + "?" + urlencode(oauth_request.payload.data)
    if user is None:
        return _sign_in_redirect(authorize_url)
    client = grant.client.model
    scopes = oauth_request.scope.split()
    grant_user: User | None = user
    if decision is None:
        if await _must_ask(session, user, client.client_id, client.is_first_party, oauth_request):
            sensitive = [s for s in scopes if s in SENSITIVE_SCOPES and not client.is_first_party]
            return render(
                request,
                _settings(request),
                "consent.html",
                client_name=client.name,
                email=user.email,
                email_verified=user.email_verified_at is not None,
                authorize_url=authorize_url,
                scopes=[
                    {"name": scope, "description": SCOPE_DESCRIPTIONS[Scope(scope)]}
                    for scope in scopes
                    if scope not in sensitive
                ],
                sensitive=[
                    {"name": scope, "description": SENSITIVE_SCOPE_WARNINGS[Scope(scope)]}
                    for scope in sensitive
                ],
                params=list(oauth_request.payload.data.items()),
            )
    elif decision == "allow":
        await service.remember_consent(session, user.id, client.client_id, scopes)
    else:
        grant_user = None  # answered with access_denied
    response: Response = await server.run(
        server.create_authorization_response, oauth_request, grant_user, grant
    )
    return response


def proves_client_identity(redirect_uri: str) -> bool:
    """Only an https redirect is bound to the app that registered it (a claimed link). Any
    local program can listen on a loopback port or register a private-use scheme and pose
    as the app (RFC 8252 §8.6), so those redirects never get a code without the person's say.
    """
    return redirect_uri.startswith("https://")


async def _must_ask(
    session: AsyncSession,
    user: User,
    client_id: str,
    first_party: bool,
    oauth_request: OAuthRequest,
) -> bool:
    if not proves_client_identity(oauth_request.payload.redirect_uri or ""):
        return True
    if first_party:
        return False
    scopes = set(oauth_request.scope.split())
    if scopes & SENSITIVE_SCOPES:
        return True  # reading private writing is asked for every time, never remembered
    return not scopes <= await service.consented_scopes(session, user.id, client_id)


@router.get(AUTHORIZE_PATH)
async def oauth_authorize(request: Request, session: WriteSessionDep) -> Response:
    """Start (or resume) an authorization request; may issue a code straight away."""
    oauth_request = await read_oauth_request(request, _settings(request))
    return await _authorize(request, session, oauth_request, decision=None)


@router.post(AUTHORIZE_PATH)
async def oauth_authorize_decision(request: Request, session: SessionDep) -> Response:
    """The consent form: allow or deny."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, _settings(request), token if isinstance(token, str) else None):
        return _message(
            request,
            "This page has expired",
            "For your safety the form could not be accepted. Go back to the app and start again.",
            status_code=400,
        )
    params = [
        (name, value)
        for name, value in form.multi_items()
        if name not in (CSRF_FIELD, "decision") and isinstance(value, str)
    ]
    decision = form.get("decision")
    oauth_request = await read_oauth_request(request, _settings(request), params=params)
    return await _authorize(request, session, oauth_request, decision=str(decision or "deny"))


async def _client_name(session: AsyncSession, next_url: str) -> str | None:
    client_id = dict(parse_qsl(urlsplit(next_url).query)).get("client_id")
    client = await get_client(session, client_id) if client_id else None
    return client.name if client is not None else None


def _sign_in_limiter(request: Request) -> RateLimiter:
    settings = _settings(request)
    return RateLimiter(
        shared_backend(request.app),
        name="sign-in",
        limit=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
    )


@router.get(SIGN_IN_PATH)
async def oauth_sign_in_page(request: Request, session: SessionDep, next: str = "") -> Response:
    next_url = safe_next(next)
    return render(
        request,
        _settings(request),
        "sign_in.html",
        next=next_url,
        email="",
        error=None,
        client_name=await _client_name(session, next_url),
        federation_buttons=federation_buttons(request, next_url),
    )


@router.post(SIGN_IN_PATH)
async def oauth_sign_in(request: Request, session: SessionDep) -> Response:
    settings = _settings(request)
    form = await request.form()
    email, password, next_raw, token = (
        value if isinstance(value := form.get(name), str) else ""
        for name in ("email", "password", "next", CSRF_FIELD)
    )
    next_url = safe_next(next_raw)

    def form_again(error: str, status_code: int) -> Response:
        return render(
            request,
            settings,
            "sign_in.html",
            status_code=status_code,
            next=next_url,
            email=email,
            error=error,
            client_name=None,
            federation_buttons=federation_buttons(request, next_url),
        )

    if not csrf_valid(request, settings, token):
        return form_again("The form expired. Please sign in again.", 400)
    client_ip = request.client.host if request.client else "unknown"
    try:
        user = await service.sign_in(
            session,
            _sign_in_limiter(request),
            request.app.state.passwords,
            email=email,
            password=password,
            client_ip=client_ip,
        )
    except service.SignInThrottled as throttled:
        minutes = max(1, round(throttled.result.retry_after / 60))
        return _message(
            request,
            "Too many sign-in attempts",
            f"For the safety of your account, wait {minutes} minute{'s' if minutes != 1 else ''} "
            "before trying again.",
            status_code=429,
            headers=throttled.result.headers(),
        )
    except service.SignInFailed as failed:
        return form_again(str(failed), 400)
    await signed_in_again(session, user)  # cancels a pending erasure
    response: Response
    if next_url:
        response = RedirectResponse(next_url, status_code=303)
    else:
        response = _message(
            request, "You are signed in", "You can close this page.", status_code=200
        )
    set_sign_in(response, settings, user.id)
    return response


@router.get(LOGOUT_PATH)
async def oauth_logout_page(request: Request) -> Response:
    """A page with one button: sign out of Rapport in this browser."""
    signed_in = read_sign_in(request, _settings(request)) is not None
    return render(request, _settings(request), "logout.html", signed_in=signed_in)


@router.post(LOGOUT_PATH)
async def oauth_logout(request: Request) -> Response:
    """End the browser's sign-in session. Tokens already issued to apps keep working until
    they are revoked: signing out of the browser is not disconnecting an app."""
    settings = _settings(request)
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, settings, token if isinstance(token, str) else None):
        return _message(
            request,
            "This page has expired",
            "For your safety the form could not be accepted. Reload the page and try again.",
            status_code=400,
        )
    response = _message(request, "You are signed out", "You can close this page.", status_code=200)
    clear_sign_in(response, settings)
    return response
