"""Revoking access tokens at once, on every process.

Call `revoke` in the transaction of the change that causes it; when that transaction commits,
the tokens it names answer 401 on this process at once and on every other within seconds
(see `app.core.revocation`). Refresh tokens are revoked by their own rows, as before; this
stops the access tokens already issued.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.config import MAX_ACCESS_TOKEN_TTL_SECONDS
from app.core.revocation import Entry, notify_statement, stage
from app.core.tokens import CLOCK_SKEW_SECONDS
from app.models.base import utcnow
from app.models.push import forget_devices
from app.models.revocations import Revocation


class Reason(StrEnum):
    app_disconnected = "app_disconnected"
    token_revoked = "token_revoked"  # noqa: S105 - a reason, not a secret
    session_revoked = "session_revoked"
    password_changed = "password_changed"  # noqa: S105 - a reason, not a secret
    client_disabled = "client_disabled"
    account_erased = "account_erased"
    safety_exit = "safety_exit"


# How long a revocation matters: the longest an access token issued before it can live,
# whatever the app's settings (so this module needs none; the rows outlive short TTLs a little).
LIFETIME = timedelta(seconds=MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS)


def record_revocation(
    session: Session,
    *,
    reason: Reason,
    user_id: uuid.UUID | None = None,
    client_id: str | None = None,
    token_id: str | None = None,
    session_id: str | None = None,
    expires_at: datetime | None = None,
) -> Revocation:
    """The synchronous form, for authlib's callbacks (`AsyncSession.run_sync`).

    Name one token (`token_id`, its jti), one refresh-token family (`session_id`), or every
    token issued until now to `user_id`, through `client_id` when given.
    """
    if token_id is None and session_id is None and user_id is None and client_id is None:
        raise ValueError("a revocation names a token, a session, a user or a client")
    now = utcnow()
    row = Revocation(
        user_id=user_id,
        client_id=client_id,
        token_id=token_id,
        session_id=session_id,
        reason=reason.value,
        revoked_at=now,
        expires_at=expires_at or now + LIFETIME,
    )
    session.add(row)
    session.flush()
    # Signing out removes the device: its push token must stop receiving at once.
    forget_devices(
        session, user_id=user_id, client_id=client_id, token_id=token_id, session_id=session_id
    )
    entry = Entry.from_row(row)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(notify_statement(entry))
    stage(session, entry)
    return row


async def revoke(
    session: AsyncSession,
    *,
    reason: Reason,
    user_id: uuid.UUID | None = None,
    client_id: str | None = None,
    token_id: str | None = None,
    session_id: str | None = None,
    expires_at: datetime | None = None,
) -> Revocation:
    """Stop access tokens in the caller's transaction; see `record_revocation` for what."""
    return await session.run_sync(
        lambda sync_session: record_revocation(
            sync_session,
            reason=reason,
            user_id=user_id,
            client_id=client_id,
            token_id=token_id,
            session_id=session_id,
            expires_at=expires_at,
        )
    )


async def sweep_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete rows that can no longer stop any token; for a scheduled retention job.

    The newest row is always kept, so ids only grow (processes read "rows after the last id").
    """
    newest = await session.scalar(select(func.max(Revocation.id)))
    if newest is None:
        return 0
    result = await session.execute(
        delete(Revocation).where(Revocation.expires_at <= (now or utcnow()), Revocation.id < newest)
    )
    return int(getattr(result, "rowcount", 0) or 0)
