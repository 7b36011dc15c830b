"""Pages of "Continue with Apple / Google": start, callback, and the link confirmation.

1. `GET /oauth/federation/{provider}/start?next=…` keeps a flow (state, nonce, PKCE verifier,
   the Rapport authorization request) in a signed cookie and sends the browser to the
   provider's authorization endpoint.
2. The provider returns to `…/callback` (Apple with a form POST, which is turned into a GET so
   the SameSite=Lax flow cookie comes along). The code is redeemed at the provider's token
   endpoint with the verifier, the id token is verified (nonce included) and used once.
3. A linked or new person is signed in and sent on to `next`. An existing account with the
   same email is linked only after its password is typed once (`/oauth/federation/link`).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from app.auth import federation_accounts as accounts
from app.auth.federation import (
    FEDERATION_PREFIX,
    Flow,
    PendingLink,
    callback_path,
    clear_flow,
    clear_pending_link,
    read_flow,
    read_pending_link,
    redirect_uri,
    s256_challenge,
    set_flow,
    set_pending_link,
)
from app.auth.oidc import IdTokenError, ProviderUnavailable
from app.auth.oidc_providers import ConfiguredProvider, ProviderError, federation_of
from app.auth.pages import SIGN_IN_PATH, safe_next
from app.auth.web import CSRF_FIELD, csrf_valid, render, set_sign_in
from app.config import Settings
from app.core.ratelimit import RateLimiter, shared_backend
from app.core.secrets import new_token
from app.db import SessionDep, WriteSessionDep
from app.models.users import User
from app.services import oauth as service
from app.services.erasure import signed_in_again

router = APIRouter(include_in_schema=False)
LINK_PATH = f"{FEDERATION_PREFIX}/link"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(
    request: Request, title: str, message: str, *, status_code: int, detail: str | None = None
) -> Response:
    return render(
        request,
        _settings(request),
        "message.html",
        status_code=status_code,
        title=title,
        message=message,
        detail=detail,
        role="alert" if status_code >= 400 else None,
    )


def _limiter(request: Request) -> RateLimiter:
    """The password sign-in's own limiter: confirming a link is one more password attempt."""
    settings = _settings(request)
    return RateLimiter(
        shared_backend(request.app),
        name="sign-in",
        limit=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
    )


def _provider(request: Request, name: str) -> ConfiguredProvider | None:
    return federation_of(request.app.state).providers.get(name)


def _not_enabled(request: Request) -> Response:
    return _page(
        request,
        "This sign-in option is not available",
        "This server does not offer that way of signing in. Sign in with your email instead.",
        status_code=404,
    )


@router.get(FEDERATION_PREFIX + "/{provider}/start")
async def federation_start(request: Request, provider: str, next: str = "") -> Response:
    configured = _provider(request, provider)
    if configured is None:
        return _not_enabled(request)
    settings = _settings(request)
    try:
        endpoint = (await configured.oidc.metadata())["authorization_endpoint"]
    except ProviderUnavailable:
        return _unreachable(request, configured)
    flow = Flow(provider, new_token(24), new_token(24), new_token(48), safe_next(next))
    params = {
        "response_type": "code",
        "client_id": configured.oidc.client_id,
        "redirect_uri": redirect_uri(settings, provider),
        "scope": configured.scope,
        "state": flow.state,
        "nonce": flow.nonce,
        "code_challenge": s256_challenge(flow.verifier),
        "code_challenge_method": "S256",
    }
    if configured.form_post:
        params["response_mode"] = "form_post"
    separator = "&" if "?" in endpoint else "?"
    response = RedirectResponse(f"{endpoint}{separator}{urlencode(params)}", status_code=303)
    set_flow(response, settings, flow)
    return response


@router.post(FEDERATION_PREFIX + "/{provider}/callback")
async def federation_callback_post(request: Request, provider: str) -> Response:
    """Apple's `form_post`: cross-site POSTs carry no Lax cookie, so go round through a GET."""
    form = await request.form()
    kept = {
        name: value
        for name in ("code", "state", "error")
        if isinstance(value := form.get(name), str)
    }
    return RedirectResponse(f"{callback_path(provider)}?{urlencode(kept)}", status_code=303)


def _unreachable(request: Request, provider: ConfiguredProvider) -> Response:
    return _page(
        request,
        f"{provider.label} could not be reached",
        "Nothing was changed. Try again in a moment, or sign in with your email.",
        status_code=502,
    )


def _refused(request: Request, provider: ConfiguredProvider, detail: str) -> Response:
    return _page(
        request,
        f"Signing in with {provider.label} did not work",
        "Nothing was changed. Go back to the app and try again.",
        status_code=400,
        detail=detail,
    )


@router.get(FEDERATION_PREFIX + "/{provider}/callback")
async def federation_callback(
    request: Request,
    session: WriteSessionDep,
    provider: str,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    configured = _provider(request, provider)
    if configured is None:
        return _not_enabled(request)
    settings = _settings(request)
    flow = read_flow(request, settings)
    if (
        flow is None
        or flow.provider != provider
        or not hmac.compare_digest(flow.state.encode(), state.encode())
    ):
        return _refused(request, configured, "This sign-in expired or was started elsewhere.")
    if error or not code:
        return _refused(request, configured, f"{configured.label} did not sign you in.")
    try:
        id_token = await configured.redeem_code(
            code, redirect_uri(settings, provider), flow.verifier
        )
        identity = await configured.oidc.verify(id_token, nonce=flow.nonce)
    except ProviderUnavailable:
        return _unreachable(request, configured)
    except (ProviderError, IdTokenError) as failure:
        return _refused(request, configured, str(failure))
    if await session.run_sync(accounts.seen_before, identity):
        return _refused(request, configured, "This sign-in was already used.")
    resolved = await session.run_sync(accounts.resolve, identity)
    response: Response
    if resolved.must_confirm and resolved.user is not None:
        response = RedirectResponse(LINK_PATH, status_code=303)
        pending = PendingLink(identity, resolved.user.id, resolved.user.email, flow.next)
        set_pending_link(response, settings, pending)
    elif resolved.user is None:
        response = _page(
            request,
            "This account cannot sign in",
            "The Rapport account linked to it was deleted.",
            status_code=403,
        )
    else:
        response = await _signed_in(request, session, resolved.user, flow.next)
    clear_flow(response, settings)
    return response


async def _signed_in(
    request: Request, session: AsyncSession, user: User, next_url: str
) -> Response:
    await signed_in_again(session, user)  # cancels a pending erasure, as a password sign-in
    response: Response
    if next_url:
        response = RedirectResponse(next_url, status_code=303)
    else:
        response = _page(request, "You are signed in", "You can close this page.", status_code=200)
    set_sign_in(response, _settings(request), user.id)
    return response


def _link_page(
    request: Request, pending: PendingLink, error: str | None, status_code: int = 200
) -> Response:
    configured = _provider(request, pending.identity.provider)
    return render(
        request,
        _settings(request),
        "federation_confirm.html",
        status_code=status_code,
        provider_label=configured.label if configured else pending.identity.provider,
        email=pending.owner_email,
        error=error,
        sign_in_url=SIGN_IN_PATH + (f"?{urlencode({'next': pending.next})}" * bool(pending.next)),
    )


@router.get(LINK_PATH)
async def federation_link_page(request: Request) -> Response:
    pending = read_pending_link(request, _settings(request))
    if pending is None:
        return _page(
            request,
            "This page has expired",
            "Start again from the app's sign-in page.",
            status_code=400,
        )
    return _link_page(request, pending, None)


@router.post(LINK_PATH)
async def federation_link(request: Request, session: SessionDep) -> Response:
    """The password of the existing account, once: then the provider account is linked."""
    settings = _settings(request)
    pending = read_pending_link(request, settings)
    form = await request.form()
    password, token = (
        value if isinstance(value := form.get(name), str) else ""
        for name in ("password", CSRF_FIELD)
    )
    if pending is None or not csrf_valid(request, settings, token):
        return _page(
            request,
            "This page has expired",
            "For your safety the form could not be accepted. Start again from the app.",
            status_code=400,
        )
    client_ip = request.client.host if request.client else "unknown"
    try:
        user = await service.sign_in(
            session,
            _limiter(request),
            request.app.state.passwords,
            email=pending.owner_email,
            password=password,
            client_ip=client_ip,
        )
    except service.SignInThrottled:
        return _link_page(request, pending, "Too many attempts. Wait a few minutes.", 429)
    except service.SignInFailed:
        return _link_page(request, pending, "That is not this account's password.", 400)
    if user.id != pending.owner_id:
        return _link_page(request, pending, "That is not this account's password.", 400)
    existing = await session.run_sync(
        accounts.find_link, pending.identity.provider, pending.identity.subject
    )
    if existing is None:
        await session.run_sync(accounts.link, pending.identity, user.id)
    elif existing.user_id != user.id:
        return _page(
            request,
            "This account is linked elsewhere",
            "That sign-in is already linked to another Rapport account. Nothing was changed.",
            status_code=409,
        )
    response = await _signed_in(request, session, user, pending.next)
    clear_pending_link(response, settings)
    return response
