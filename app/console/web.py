"""What every console page needs: the signed-in curator, CSRF, templates and headers.

The console reuses the OAuth pages' sign-in session and session-bound CSRF tokens
(`app.auth.web`). Only curators and admins get in: a member sees a 403 page, and a visitor
who is not signed in goes to the sign-in page, which brings them back.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, ParamSpec
from urllib.parse import urlencode

from fastapi import Request
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.auth.web import COOKIE_PATH, CSRF_FIELD, csrf_cookie, csrf_token, csrf_valid, read_sign_in
from app.config import Settings
from app.core.problems import ProblemError
from app.core.security import Member, Scope
from app.models.users import Role, User

PREFIX: Final = "/console"
STATIC: Final = Path(__file__).parent / "static"
SIGN_IN: Final = "/oauth/sign-in"
CLIENT_ID: Final = "rapport-console"
"""How the audit log names the console among the clients a change came through."""

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

# No script at all, styles only from this server, forms only to this server.
HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class Leave(Exception):
    """Stop a page and answer with this response instead (sign-in, 403, expired form)."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


@dataclass(frozen=True, slots=True)
class Desk:
    """The signed-in curator at the console."""

    request: Request
    session: AsyncSession
    settings: Settings
    user: User

    @property
    def me(self) -> Member:
        scopes = {Scope.admin_content.value}
        if self.is_admin:
            scopes.add(Scope.admin_users.value)
        return Member(user_id=self.user.id, client_id=CLIENT_ID, scopes=frozenset(scopes))

    @property
    def is_admin(self) -> bool:
        return self.user.role is Role.admin

    def page(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(
            self.request,
            self.settings,
            template,
            status_code=status_code,
            user=self.user,
            **context,
        )

    async def form(self) -> dict[str, str]:
        """The posted form's text fields, once its CSRF token is checked."""
        form = await self.request.form()
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        if not csrf_valid(self.request, self.settings, fields.get(CSRF_FIELD)):
            raise Leave(
                self.page(
                    "message.html",
                    status_code=400,
                    title="This page has expired",
                    message="For your safety the form was not accepted. Go back, reload the page "
                    "and try again.",
                )
            )
        return fields

    async def picked(self, name: str) -> list[str]:
        """Every value a form sent under `name` (check boxes); call after `form`."""
        values = (await self.request.form()).getlist(name)
        return [value for value in values if isinstance(value, str)]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def render(
    request: Request, settings: Settings, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    nonce, token = csrf_token(request, settings)
    html = _env.get_template(template).render(
        csrf_field=CSRF_FIELD, csrf_token=token, prefix=PREFIX, path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status_code, headers=HEADERS)
    if request.cookies.get(csrf_cookie(settings)) != nonce:
        response.set_cookie(
            csrf_cookie(settings),
            nonce,
            path=COOKIE_PATH,
            secure=settings.public_url.startswith("https://"),
            httponly=True,
            samesite="lax",
        )
    return response


async def open_desk(request: Request, session: AsyncSession) -> Desk:
    settings = settings_of(request)
    sign_in = read_sign_in(request, settings)
    user = await session.get(User, sign_in.user_id) if sign_in else None
    if user is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Leave(RedirectResponse(f"{SIGN_IN}?{urlencode({'next': back})}", status_code=303))
    if user.role not in (Role.curator, Role.admin):
        raise Leave(
            render(
                request,
                settings,
                "message.html",
                status_code=403,
                user=user,
                title="Curators only",
                message="The console is for curators and admins; your account is neither.",
            )
        )
    return Desk(request, session, settings, user)


P = ParamSpec("P")


def console_page(
    handler: Callable[P, Awaitable[Response]],
) -> Callable[P, Awaitable[Response]]:
    """Answer a `Leave` with its response, and a service's problem with a readable page."""

    @functools.wraps(handler)
    async def page(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await handler(*args, **kwargs)
        except Leave as leave:
            return leave.response
        except ProblemError as problem:
            request = kwargs["request"]
            session = kwargs["session"]
            assert isinstance(request, Request) and isinstance(session, AsyncSession)
            await session.rollback()
            return render(
                request,
                settings_of(request),
                "message.html",
                status_code=problem.status,
                title=problem.title,
                message=problem.detail or problem.title,
                errors=[_named(error) for error in problem.extra.get("errors", [])],
            )

    return page


def _named(error: Any) -> str:
    """One field error as a line: where, then what (a `FieldError` or its dump)."""
    fields = error if isinstance(error, dict) else error.model_dump()
    return f"{fields.get('pointer') or '#'}: {fields.get('detail')}"


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def user_names(session: AsyncSession, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    users = await session.scalars(select(User).where(User.id.in_(wanted)))
    return {user.id: user.display_name for user in users}
