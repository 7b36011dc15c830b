"""Curating the prompts of a library: add, edit (as versions), remove.

A published version is never modified: editing a prompt whose newest version is published
adds a draft version (number + 1); a draft version is edited in place.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict, NotFound
from app.core.security import Member
from app.models.base import utcnow
from app.models.prompts import Prompt, PromptLibrary, PromptVersion, PromptVersionStatus
from app.schemas.library_prompts import PromptCreate, PromptUpdate
from app.services import audit, curation
from app.services.libraries import KIND as LIBRARIES
from app.services.libraries import get_library
from app.services.translation_lifecycle import carry_over, mark_stale

# The fields a version carries; editing one of them is a change of wording or metadata.
VERSION_FIELDS = (
    "text",
    "category",
    "depth",
    "kind",
    "listener_guidance",
    "tags",
    "locale",
    "stages",
    "sensitive",
)
_KEY_WORDS = 6
_KEY_BASE_LENGTH = 60


class PromptNotFound(NotFound):
    slug = "prompt-not-found"
    title = "No prompt has this id"


class PromptKeyTaken(Conflict):
    slug = "prompt-key-taken"
    title = "A prompt of this library already has this key"


class PromptRemoved(Conflict):
    slug = "prompt-removed"
    title = "The prompt was removed"


@dataclass
class PromptView:
    prompt: Prompt
    library: PromptLibrary
    versions: list[PromptVersion]
    """Oldest first; the last one is the working version."""

    @property
    def working(self) -> PromptVersion:
        return self.versions[-1]


def key_base(text: str) -> str:
    """A slug from the first words of a text; `prompt` when nothing of it is ASCII."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", folded)[:_KEY_WORDS]
    return "-".join(words)[:_KEY_BASE_LENGTH].strip("-") or "prompt"


async def _free_key(session: AsyncSession, library_id: uuid.UUID, base: str) -> str:
    taken = set(
        await session.scalars(
            select(Prompt.key).where(
                Prompt.library_id == library_id, Prompt.key.startswith(base, autoescape=True)
            )
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def prompt_snapshot(
    key: str, version: PromptVersion, removed_at: datetime | None = None
) -> dict[str, Any]:
    """A prompt and one of its versions, as the audit log keeps them."""
    return {
        "key": key,
        "removed_at": removed_at.isoformat() if removed_at else None,
        "version_id": str(version.id),
        "number": version.number,
        "status": version.status.value,
        **{name: _stored(name, getattr(version, name)) for name in VERSION_FIELDS},
    }


def _stored(name: str, value: Any) -> Any:
    """Enum members as their plain values, so JSON columns and comparisons see strings."""
    if name in ("stages", "tags"):
        return [str(item) for item in value]
    return value


async def get_prompt(
    session: AsyncSession, prompt_id: uuid.UUID, *, for_change: bool = False
) -> PromptView:
    statement = (
        select(Prompt, PromptLibrary)
        .join(PromptLibrary, PromptLibrary.id == Prompt.library_id)
        .where(Prompt.id == prompt_id)
    )
    if for_change:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).first()
    if row is None:
        raise PromptNotFound("No prompt has this id.")
    prompt, library = row
    versions = await session.scalars(
        select(PromptVersion)
        .where(PromptVersion.prompt_id == prompt.id)
        .order_by(PromptVersion.number)
    )
    return PromptView(prompt=prompt, library=library, versions=list(versions))


async def create_prompt(
    session: AsyncSession, by: Member, library_id: uuid.UUID, data: PromptCreate
) -> PromptView:
    library = await get_library(session, library_id, for_change=True)
    curation.open_for_edit(LIBRARIES, library)
    if data.key is None:
        key = await _free_key(session, library.id, key_base(data.text))
    else:
        key = data.key
        exists = await session.scalar(
            select(Prompt.id).where(Prompt.library_id == library.id, Prompt.key == key)
        )
        if exists is not None:
            raise PromptKeyTaken(f"The key {key!r} is taken in this library; choose another.")
    prompt = Prompt(id=uuid.uuid4(), library_id=library.id, key=key)
    fields = data.model_dump(exclude={"key"})
    fields["locale"] = fields["locale"] or library.locale
    version = PromptVersion(
        prompt_id=prompt.id,
        library_id=library.id,
        number=1,
        status=PromptVersionStatus.draft,
        created_by=by.user_id,
        **{name: _stored(name, fields[name]) for name in VERSION_FIELDS},
    )
    session.add(prompt)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the same key was added concurrently
        raise PromptKeyTaken(f"The key {key!r} is taken in this library; choose another.") from None
    session.add(version)
    await session.flush()
    audit.record(
        session,
        by,
        "prompt.created",
        entity_type="prompt",
        entity_id=prompt.id,
        after=prompt_snapshot(prompt.key, version),
    )
    await session.flush()
    return PromptView(prompt=prompt, library=library, versions=[version])


_WORDS = frozenset({"text", "listener_guidance"})
"""The fields a translation translates."""


async def update_prompt(
    session: AsyncSession, by: Member, view: PromptView, data: PromptUpdate
) -> PromptView:
    if view.prompt.removed_at is not None:
        raise PromptRemoved("A removed prompt cannot be edited.")
    working = view.working
    wanted = {
        name: _stored(name, value)
        for name, value in data.model_dump(exclude_unset=True).items()
        # Only the guidance can be cleared; null elsewhere means "unchanged".
        if value is not None or name == "listener_guidance"
    }
    changes = {name: value for name, value in wanted.items() if getattr(working, name) != value}
    if not changes:
        return view
    curation.open_for_edit(LIBRARIES, view.library)
    before = prompt_snapshot(view.prompt.key, working)
    if working.status is PromptVersionStatus.draft:
        for name, value in changes.items():
            setattr(working, name, value)
        edited = working
    else:
        copied = {name: _stored(name, getattr(working, name)) for name in VERSION_FIELDS}
        edited = PromptVersion(
            prompt_id=view.prompt.id,
            library_id=view.library.id,
            number=working.number + 1,
            status=PromptVersionStatus.draft,
            created_by=by.user_id,
            **{**copied, **changes},
        )
        session.add(edited)
        view.versions.append(edited)
        await session.flush()
        await carry_over(session, working, edited, by)
    if _WORDS.intersection(changes):
        await mark_stale(session, edited)
    await session.flush()
    audit.record(
        session,
        by,
        "prompt.updated",
        entity_type="prompt",
        entity_id=view.prompt.id,
        before=before,
        after=prompt_snapshot(view.prompt.key, edited),
    )
    await session.flush()
    return view


async def remove_prompt(session: AsyncSession, by: Member, view: PromptView) -> None:
    """Mark the prompt removed; members keep its live version until the next publication."""
    if view.prompt.removed_at is not None:
        return
    curation.open_for_edit(LIBRARIES, view.library)
    before = prompt_snapshot(view.prompt.key, view.working)
    view.prompt.removed_at = utcnow()
    await session.flush()
    audit.record(
        session,
        by,
        "prompt.removed",
        entity_type="prompt",
        entity_id=view.prompt.id,
        before=before,
        after=prompt_snapshot(view.prompt.key, view.working, view.prompt.removed_at),
    )
    await session.flush()
