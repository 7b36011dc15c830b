"""The curation audit log: who changed what, with the state before and after.

Entries are written in the caller's transaction, so a change and its record stand or fall
together. Snapshots are plain JSON built by the curation engine, never the request body as sent.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.security import Member
from app.models.audit import AuditEntry

SYSTEM: Final = None
"""Who acts when the system itself changes curated content (the starter-content seed): where
services take the acting `Member`, they take `Member | None`, and `SYSTEM` is that `None`. Its
entries have neither a user nor a client."""


def record(
    session: AsyncSession,
    by: Member | None,
    action: str,
    *,
    entity_type: str,
    entity_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry; it is written with the caller's next flush, in the caller's transaction."""
    entry = AuditEntry(
        actor_user_id=by.user_id if by else None,
        actor_client_id=by.client_id if by else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


async def last_actor(
    session: AsyncSession, action: str, *, entity_type: str, entity_id: uuid.UUID
) -> uuid.UUID | None:
    """The person behind the newest entry of this action on this entity, if any."""
    return await session.scalar(
        select(AuditEntry.actor_user_id)
        .where(
            AuditEntry.entity_type == entity_type,
            AuditEntry.entity_id == entity_id,
            AuditEntry.action == action,
        )
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )


async def list_entries(
    session: AsyncSession,
    params: PageQuery,
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor: uuid.UUID | None = None,
    action: str | None = None,
) -> Window[AuditEntry]:
    """Newest first; `action` keeps the entries of one action, e.g. `published`."""
    statement = select(AuditEntry)
    if entity_type is not None:
        statement = statement.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        statement = statement.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        statement = statement.where(AuditEntry.actor_user_id == actor)
    if action is not None:
        statement = statement.where(AuditEntry.action.like(f"%.{action}"))
    return await paginate(
        session, statement, order=(AuditEntry.seq,), params=params, descending=True
    )
