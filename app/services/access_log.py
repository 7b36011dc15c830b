"""The access log: a person can see every time a third-party app read their private writing.

Reads of private writing (journal entries, private check-ins) through a third-party app are
recorded here: which app, what kind, how many items, which operation, when; never the text.
A read through a first-party app is not logged: that is the person reading their own words.
Who may read what, and when a read is logged, is decided in `services/private_writing.py`.

A read is one row, however many items it returned, added to the request's own transaction:
it is committed with the request, before the response leaves, or not at all when the request
fails (and then nothing was read either).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.security import Member
from app.models.access_log import AccessLogEntry, PrivateKind
from app.models.base import utcnow
from app.models.oauth import OAuthClient


async def record(
    session: AsyncSession, reader: Member, kind: PrivateKind, items: int, operation: str
) -> None:
    """One row for one read: the app, the kind, the count and the operation id; no text."""
    session.add(
        AccessLogEntry(
            user_id=reader.user_id,
            client_id=reader.client_id,
            kind=kind,
            items=items,
            operation=operation,
            occurred_at=utcnow(),
        )
    )
    await session.flush()


@dataclass(frozen=True, slots=True)
class AccessLogView:
    id: uuid.UUID
    client_id: str
    client_name: str | None
    kind: PrivateKind
    items: int
    operation: str
    occurred_at: datetime


async def list_entries(
    session: AsyncSession, member: Member, params: PageQuery
) -> Window[AccessLogView]:
    """The person's log, newest first (any client the person uses may read it)."""
    window = await paginate(
        session,
        select(AccessLogEntry).where(AccessLogEntry.user_id == member.user_id),
        order=(AccessLogEntry.occurred_at, AccessLogEntry.id),
        params=params,
        descending=True,
    )
    names = await _client_names(session, {entry.client_id for entry in window.items})
    return Window(
        items=[
            AccessLogView(
                id=entry.id,
                client_id=entry.client_id,
                client_name=names.get(entry.client_id),
                kind=entry.kind,
                items=entry.items,
                operation=entry.operation,
                occurred_at=entry.occurred_at,
            )
            for entry in window.items
        ],
        next_cursor=window.next_cursor,
        has_more=window.has_more,
    )


async def last_private_reads(session: AsyncSession, user_id: uuid.UUID) -> dict[str, datetime]:
    """When each app last read the person's private writing."""
    rows = await session.execute(
        select(AccessLogEntry.client_id, func.max(AccessLogEntry.occurred_at))
        .where(AccessLogEntry.user_id == user_id)
        .group_by(AccessLogEntry.client_id)
    )
    return {client_id: last for client_id, last in rows}


async def _client_names(session: AsyncSession, client_ids: set[str]) -> dict[str, str]:
    if not client_ids:
        return {}
    rows = await session.execute(
        select(OAuthClient.client_id, OAuthClient.name).where(OAuthClient.client_id.in_(client_ids))
    )
    return {client_id: name for client_id, name in rows}
