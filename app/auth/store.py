"""Clients, codes and refresh tokens in the database, for authlib's synchronous callbacks.

These functions take the *sync* `Session` that `AsyncSession.run_sync` hands over: their
queries run on the async driver through SQLAlchemy's greenlet bridge, never blocking the
event loop. Only hashes of codes and tokens are stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from app.core.revocation_log import Reason, record_revocation
from app.core.secrets import token_hash
from app.models.base import utcnow
from app.models.oauth import AuthorizationCode, OAuthClient, RefreshToken


def _changed(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


def find_clients(session: Session, client_ids: Iterable[str]) -> dict[str, OAuthClient]:
    """The enabled clients among these ids, by client id."""
    wanted = set(client_ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(OAuthClient).where(
            OAuthClient.client_id.in_(wanted), OAuthClient.disabled_at.is_(None)
        )
    )
    return {row.client_id: row for row in rows}


def save_code(session: Session, code: str, **columns: Any) -> AuthorizationCode:
    row = AuthorizationCode(code_hash=token_hash(code), **columns)
    session.add(row)
    session.flush()
    return row


def find_code(session: Session, code: str, client_id: str) -> AuthorizationCode | None:
    return session.scalar(
        select(AuthorizationCode).where(
            AuthorizationCode.code_hash == token_hash(code),
            AuthorizationCode.client_id == client_id,
        )
    )


def claim_code(session: Session, row: AuthorizationCode, family_id: uuid.UUID) -> bool:
    """Mark a code used, once: of two concurrent exchanges only one wins."""
    result = session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=utcnow(), family_id=family_id)
        .execution_options(synchronize_session=False)
    )
    return _changed(result) == 1


def revoke_code_family(session: Session, row: AuthorizationCode) -> None:
    """A code presented again: revoke every refresh token issued from it (RFC 6749 §4.1.2)."""
    family_id = session.scalar(
        select(AuthorizationCode.family_id).where(AuthorizationCode.id == row.id)
    )
    if family_id is not None:
        revoke_family(session, family_id)


def save_refresh_token(
    session: Session,
    token: str,
    *,
    family_id: uuid.UUID,
    client_id: str,
    user_id: uuid.UUID,
    scope: str,
    ttl: timedelta,
) -> RefreshToken:
    now = utcnow()
    row = RefreshToken(
        token_hash=token_hash(token),
        family_id=family_id,
        client_id=client_id,
        user_id=user_id,
        scope=scope,
        issued_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    return row


def find_refresh_token(session: Session, token: str) -> RefreshToken | None:
    return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash(token)))


def rotate_refresh_token(session: Session, row: RefreshToken) -> bool:
    """Retire a refresh token as it is exchanged, once: a second use is a replay."""
    result = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == row.id,
            RefreshToken.rotated_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(rotated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _changed(result) == 1


def revoke_family(session: Session, family_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Revoke a refresh-token family, and the access tokens issued from it (their `sid`)."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    record_revocation(session, reason=Reason.session_revoked, session_id=str(family_id))
