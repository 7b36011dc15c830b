"""Which scopes a client may ask for, and which of them a person may grant it.

A client asking for a scope it is not registered for is refused (`invalid_scope`, RFC 6749
§3.3), never silently narrowed: its registration is wrong, and only an error says so. What a
person's role does not permit is left out of the grant instead (a partial grant, which the
token response's `scope` reports), so one app can serve members and curators alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.core.security import MEMBER_SCOPES, Scope
from app.models.oauth import OAuthClient
from app.models.users import Role

_CATALOG_ORDER = {scope.value: position for position, scope in enumerate(Scope)}

# Scopes a role must hold to grant them; webhooks:manage belongs to partner platforms
# acting for themselves (client credentials) and is never granted on a person's behalf.
_ROLES_FOR_SCOPE: dict[str, frozenset[Role]] = {
    Scope.admin_content.value: frozenset({Role.curator, Role.admin}),
    Scope.admin_users.value: frozenset({Role.admin}),
    Scope.webhooks_manage.value: frozenset(),
}
_MEMBER_SCOPE_VALUES = frozenset(scope.value for scope in MEMBER_SCOPES)


def ordered(scopes: Iterable[str]) -> list[str]:
    """Unique scopes in catalog order: stable strings in tokens, a stable list on pages."""
    return sorted(set(scopes), key=lambda scope: _CATALOG_ORDER.get(scope, len(_CATALOG_ORDER)))


def role_permits(role: Role, scope: str) -> bool:
    roles = _ROLES_FOR_SCOPE.get(scope)
    return roles is None or role in roles


def scopes_not_allowed(client: OAuthClient, requested: Iterable[str] | None) -> list[str]:
    """The requested scopes the client is not registered for: any of them refuses the request."""
    allowed = set(client.allowed_scopes)
    return ordered(scope for scope in requested or () if scope not in allowed)


def client_scopes(client: OAuthClient, requested: Iterable[str] | None) -> list[str]:
    """The scopes a request stands for, within what the client is registered for.

    With no `scope` parameter, a client gets its allowed member scopes (RFC 6749 §3.3 lets
    the server pick a default): never admin or partner scopes a person did not ask for.
    """
    allowed = set(client.allowed_scopes)
    wanted = set(requested or ()) or (allowed & _MEMBER_SCOPE_VALUES)
    return ordered(wanted & allowed)


def user_scopes(client: OAuthClient, requested: Iterable[str] | None, role: Role) -> list[str]:
    """The scopes a person with this role can grant the client for this request."""
    return [scope for scope in client_scopes(client, requested) if role_permits(role, scope)]
