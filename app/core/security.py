"""Who is calling: the scope catalog, the `Actor`, and the one dependency that guards endpoints.

A verified access token already carries the subject, the client and the scopes, so resolving
the caller costs no database query.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Request, Security
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security import OAuth2, SecurityScopes

from app.core.problems import InsufficientScope, Unauthorized
from app.core.tokens import AccessTokenClaims, InvalidToken, TokenService


class Scope(StrEnum):
    profile = "profile"
    couple_read = "couple:read"
    couple_write = "couple:write"
    prompts_read = "prompts:read"
    answers_read = "answers:read"
    answers_write = "answers:write"
    checkins_read = "checkins:read"
    checkins_write = "checkins:write"
    checkins_private = "checkins:private"
    journal_read = "journal:read"
    journal_write = "journal:write"
    repair_read = "repair:read"
    repair_write = "repair:write"
    conversations_read = "conversations:read"
    conversations_write = "conversations:write"
    activities_read = "activities:read"
    activities_write = "activities:write"
    insights_read = "insights:read"
    webhooks_manage = "webhooks:manage"
    admin_content = "admin:content"
    admin_users = "admin:users"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.profile: "Read and update your profile.",
    Scope.couple_read: "See your couple: partner, invites, settings.",
    Scope.couple_write: "Create, join, configure and leave a couple.",
    Scope.prompts_read: "Read prompt libraries and your couple's daily prompts.",
    Scope.answers_read: "Read your answers and your partner's revealed answers.",
    Scope.answers_write: "Answer prompts and reflect on your partner's answers.",
    Scope.checkins_read: "Read your check-ins and those your partner shared.",
    Scope.checkins_write: "Record, share and change your check-ins.",
    Scope.checkins_private: "Read the check-ins you kept private.",
    Scope.journal_read: "Read your private journal.",
    Scope.journal_write: "Write in your private journal.",
    Scope.repair_read: "Read your couple's repair plans.",
    Scope.repair_write: "Propose and take part in repair plans.",
    Scope.conversations_read: "Read your couple's speaker-listener conversations and weekly "
    "rituals.",
    Scope.conversations_write: "Start and take turns in speaker-listener conversations, and "
    "hold your couple's weekly ritual.",
    Scope.activities_read: "Read your couple's activity ideas, your own marks on them, and "
    "your matches and plans.",
    Scope.activities_write: "Add activity ideas, mark the ones you want, plan matches and "
    "say how they went.",
    Scope.insights_read: "Read insights about your couple.",
    Scope.webhooks_manage: "Manage a partner platform's webhook endpoints.",
    Scope.admin_content: "Curate prompt libraries and repair-plan templates.",
    Scope.admin_users: "Manage users and OAuth clients.",
}

ADMIN_SCOPES = frozenset({Scope.admin_content, Scope.admin_users})
SENSITIVE_SCOPES = frozenset({Scope.journal_read, Scope.checkins_private})
"""Scopes that read private writing. A third-party app asks for them in plain words on every
authorization (never remembered), and each read through it is written to the person's access
log. First-party apps read their person's own private writing without them."""
SENSITIVE_SCOPE_WARNINGS: dict[Scope, str] = {
    Scope.journal_read: "Read everything you wrote in your private journal.",
    Scope.checkins_private: "Read the check-ins you kept private: moods, feelings, needs, notes.",
}
PARTNER_SCOPES = frozenset({Scope.webhooks_manage})
MEMBER_SCOPES = frozenset(Scope) - ADMIN_SCOPES - PARTNER_SCOPES


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller: a person acting through a client, or a client acting for itself."""

    client_id: str
    scopes: frozenset[str]
    user_id: uuid.UUID | None = None
    session_id: str | None = None
    """The token's `sid`: the refresh-token family it came from, if any."""

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    def require_user(self) -> uuid.UUID:
        return self.as_member().user_id

    def as_member(self) -> Member:
        """The same caller as a `Member`; 403 for a client acting for itself."""
        if self.user_id is None:
            raise InsufficientScope(
                "This operation acts for a signed-in person; a client token cannot use it.",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        return Member(
            user_id=self.user_id,
            client_id=self.client_id,
            scopes=self.scopes,
            session_id=self.session_id,
        )


@dataclass(frozen=True, slots=True)
class Member:
    """A signed-in person acting through a client: what every person-facing service takes.

    Routers get one from `member(...)`, which answers 403 before the handler runs when the
    token acts for a client rather than a person.
    """

    user_id: uuid.UUID
    client_id: str
    scopes: frozenset[str]
    session_id: str | None = None
    """The token's `sid` (see `Actor.session_id`)."""

    def has(self, scope: Scope) -> bool:
        return scope.value in self.scopes

    @property
    def actor(self) -> Actor:
        return Actor(client_id=self.client_id, scopes=self.scopes, user_id=self.user_id)


class _BearerScheme(OAuth2):
    """The API's one OAuth 2 security scheme, as the published schema describes it."""

    def __init__(self) -> None:
        flows = {scope.value: text for scope, text in SCOPE_DESCRIPTIONS.items()}
        super().__init__(
            flows=OAuthFlowsModel(
                authorizationCode=OAuthFlowAuthorizationCode(
                    authorizationUrl="/oauth/authorize",
                    tokenUrl="/oauth/token",
                    refreshUrl="/oauth/token",
                    scopes=flows,
                ),
                clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=flows),
            ),
            scheme_name="OAuth2",
            description=(
                "OAuth 2.0: authorization code with PKCE (S256) for apps acting for a person; "
                "client credentials for partner platforms. Access tokens are RFC 9068 JWTs."
            ),
            auto_error=False,
        )


class ActorGuard(_BearerScheme):
    """The security scheme and the check of a request's bearer token against the route's
    scopes, in one dependency: FastAPI resolves every layer of dependencies on every request,
    and this one guards nearly all of them."""

    async def __call__(  # type: ignore[override]
        self, request: Request, security_scopes: SecurityScopes
    ) -> Actor:
        return await current_actor(security_scopes, request)


class MemberGuard(_BearerScheme):
    """`ActorGuard` for the routes that act for a signed-in person (403 for a client)."""

    async def __call__(  # type: ignore[override]
        self, request: Request, security_scopes: SecurityScopes
    ) -> Member:
        actor = await current_actor(security_scopes, request)
        return actor.as_member()


actor_guard = ActorGuard()
member_guard = MemberGuard()
_AUTHORIZATION = b"authorization"


def _bearer_challenge(
    error: str | None = None, description: str | None = None, **params: str
) -> str:
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    parts.extend(f'{name}="{value}"' for name, value in params.items())
    return "Bearer" + (" " + ", ".join(parts) if parts else "")


async def current_actor(security_scopes: SecurityScopes, request: Request) -> Actor:
    authorization = next(
        (
            value.decode("latin-1")
            for name, value in request.scope["headers"]
            if name == _AUTHORIZATION
        ),
        None,
    )
    if not authorization:
        raise Unauthorized(
            "Send an access token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": _bearer_challenge()},
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "The Authorization header must use the Bearer scheme.",
            headers={"WWW-Authenticate": _bearer_challenge("invalid_request")},
        )
    tokens: TokenService = request.app.state.tokens
    token = token.strip()
    try:
        claims = await _verified(tokens, token, request)
    except InvalidToken:
        raise Unauthorized(
            "The access token is invalid or expired.",
            headers={
                "WWW-Authenticate": _bearer_challenge(
                    "invalid_token", "The access token is invalid or expired"
                )
            },
        ) from None
    missing = [scope for scope in security_scopes.scopes if scope not in claims.scopes]
    if missing:
        needed = " ".join(security_scopes.scopes)
        raise InsufficientScope(
            f"This operation needs the scope {needed}.",
            headers={"WWW-Authenticate": _bearer_challenge("insufficient_scope", scope=needed)},
            required_scopes=list(security_scopes.scopes),
        )
    actor = Actor(
        client_id=claims.client_id,
        scopes=claims.scopes,
        user_id=claims.user_id,
        session_id=claims.session_id,
    )
    request.state.actor = actor
    return actor


async def _verified(tokens: TokenService, token: str, request: Request) -> AccessTokenClaims:
    try:
        return tokens.verify(token)
    except InvalidToken:
        # Signed by a key this process has not loaded yet (another worker rotated)?
        kid = tokens.peek_kid(token)
        if kid is None or kid in tokens.keys.verifying:
            raise
        if not await tokens.keys.reload_if_unknown(kid, request.app.state.sessionmaker):
            raise
        return tokens.verify(token)


def require(*scopes: Scope) -> Any:
    """`actor: Annotated[Actor, require(Scope.profile)]` guards an endpoint by scope."""
    return Security(actor_guard, scopes=[scope.value for scope in scopes])


def member(*scopes: Scope) -> Any:
    """`me: Annotated[Member, member(Scope.profile)]`: a person's token holding the scopes."""
    return Security(member_guard, scopes=[scope.value for scope in scopes])
