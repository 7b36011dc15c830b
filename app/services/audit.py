"""The curation audit log: who changed what, with the state before and after.

Entries are written in the caller's transaction, so a change and its record stand or fall
together. Snapshots are plain JSON built here, never the request body as sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.models.audit import AuditEntry
from app.models.prompts import PromptLibrary, PromptVersion


@dataclass(frozen=True, slots=True)
class Editor:
    """Who makes a curation change: a person through a client, or the system (both None)."""

    user_id: uuid.UUID | None
    client_id: str | None


SYSTEM = Editor(user_id=None, client_id=None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def library_snapshot(library: PromptLibrary) -> dict[str, Any]:
    return {
        "slug": library.slug,
        "title": library.title,
        "description": library.description,
        "locale": library.locale,
        "stages": list(library.stages),
        "opt_in": library.opt_in,
        "status": library.status.value,
        "published_version": library.published_version,
    }


def version_snapshot(version: PromptVersion) -> dict[str, Any]:
    return {
        "version_id": str(version.id),
        "number": version.number,
        "status": version.status.value,
        "text": version.text,
        "category": version.category.value,
        "depth": version.depth,
        "kind": version.kind.value,
        "listener_guidance": version.listener_guidance,
        "tags": list(version.tags),
        "locale": version.locale,
        "stages": list(version.stages),
        "sensitive": version.sensitive,
    }


def prompt_snapshot(
    key: str, version: PromptVersion, removed_at: datetime | None = None
) -> dict[str, Any]:
    return {"key": key, "removed_at": _iso(removed_at), **version_snapshot(version)}


def record(
    session: AsyncSession,
    editor: Editor,
    action: str,
    *,
    entity_type: str,
    entity_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry; it is written with the caller's next flush, in the caller's transaction."""
    entry = AuditEntry(
        actor_user_id=editor.user_id,
        actor_client_id=editor.client_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


async def list_entries(
    session: AsyncSession,
    params: PageQuery,
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor: uuid.UUID | None = None,
) -> Window[AuditEntry]:
    """Newest first."""
    statement = select(AuditEntry)
    if entity_type is not None:
        statement = statement.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        statement = statement.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        statement = statement.where(AuditEntry.actor_user_id == actor)
    return await paginate(
        session, statement, order=(AuditEntry.seq,), params=params, descending=True
    )
