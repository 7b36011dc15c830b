"""Prompt libraries as a kind of curated content (`app.services.curation`): their own fields
(stages, opt-in), when one is ready for review, and what its publication freezes.

Publishing freezes the library's details as a numbered `LibraryVersion`, and each prompt's
draft version goes live. Members only ever see `is_live` prompt versions of libraries that
are not archived, with the details of the library's published version, so a published
library can be edited (it goes back to draft) while members keep what they saw.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict
from app.core.security import Member
from app.models.base import utcnow
from app.models.prompts import (
    LibraryVersion,
    Prompt,
    PromptLibrary,
    PromptVersion,
    PromptVersionStatus,
)
from app.schemas.libraries import LibraryCreate, LibraryUpdate
from app.services import curation
from app.services.translation_lifecycle import publish_drafts

PROBLEMS: Final = curation.Problems.named(
    "library", noun="library", short="library", transition="illegal-transition"
)
LibraryNotFound, SlugTaken, IllegalTransition, LibraryLocked = PROBLEMS


class EmptyLibrary(Conflict):
    slug = "empty-library"
    title = "The library has no prompts"


@dataclass
class LibraryView:
    library: PromptLibrary
    prompts: list[tuple[Prompt, PromptVersion]]
    """Working prompts with their newest version, removals pending publication included."""
    versions: list[LibraryVersion]
    allowed_transitions: list[str]


async def _check_ready(session: AsyncSession, library: PromptLibrary) -> None:
    active = await session.scalar(
        select(func.count())
        .select_from(Prompt)
        .where(Prompt.library_id == library.id, Prompt.removed_at.is_(None))
    )
    if not active:
        raise EmptyLibrary("Add at least one prompt before submitting the library for review.")


async def _freeze_prompts(
    session: AsyncSession, library: PromptLibrary, number: int
) -> LibraryVersion:
    """Each prompt's draft version becomes published and live, superseding its previous live
    version; removed prompts lose their live version. Published versions are never edited,
    so answers keep pointing at the exact wording that was answered."""
    prompts = (
        await session.execute(
            select(Prompt.id, Prompt.removed_at).where(Prompt.library_id == library.id)
        )
    ).all()
    removed = {prompt_id for prompt_id, removed_at in prompts if removed_at is not None}
    versions = list(
        await session.scalars(
            select(PromptVersion).where(
                PromptVersion.library_id == library.id,
                or_(
                    PromptVersion.is_live.is_(True),
                    PromptVersion.status == PromptVersionStatus.draft,
                ),
            )
        )
    )
    drafted = {
        v.prompt_id
        for v in versions
        if v.status is PromptVersionStatus.draft and v.prompt_id not in removed
    }
    now = utcnow()
    for version in versions:
        if version.prompt_id in removed:
            version.is_live = False
        elif version.status is PromptVersionStatus.draft:
            version.status = PromptVersionStatus.published
            version.is_live = True
            version.published_at = now
            version.library_version = number
        elif version.prompt_id in drafted:
            version.is_live = False
    await session.flush()
    await publish_drafts(session, library.id)
    return LibraryVersion(
        library_id=library.id,
        number=number,
        stages=list(library.stages),
        prompt_count=len(prompts) - len(removed),
    )


KIND: Final = curation.Kind[PromptLibrary, LibraryVersion](
    entity="library",
    noun="library",
    model=PromptLibrary,
    version_model=LibraryVersion,
    problems=PROBLEMS,
    fields=("stages", "opt_in", "translations"),
    version_fields=("stages", "prompt_count", "translations"),
    check_ready=_check_ready,
    freeze_content=_freeze_prompts,
)
get_library = KIND.get
list_libraries = KIND.list_items


async def load_view(session: AsyncSession, library: PromptLibrary) -> LibraryView:
    newest = (
        select(PromptVersion.prompt_id, func.max(PromptVersion.number).label("number"))
        .where(PromptVersion.library_id == library.id)
        .group_by(PromptVersion.prompt_id)
        .subquery()
    )
    live = select(PromptVersion.prompt_id).where(
        PromptVersion.library_id == library.id, PromptVersion.is_live.is_(True)
    )
    rows = await session.execute(
        select(Prompt, PromptVersion)
        .join(newest, newest.c.prompt_id == Prompt.id)
        .join(
            PromptVersion,
            and_(PromptVersion.prompt_id == Prompt.id, PromptVersion.number == newest.c.number),
        )
        .where(
            Prompt.library_id == library.id,
            or_(Prompt.removed_at.is_(None), Prompt.id.in_(live)),
        )
        .order_by(Prompt.created_at, Prompt.key)
    )
    return LibraryView(
        library=library,
        prompts=[(prompt, version) for prompt, version in rows],
        versions=await curation.versions(session, KIND, library.id),
        allowed_transitions=curation.allowed_moves(library),
    )


async def create_library(session: AsyncSession, by: Member, data: LibraryCreate) -> PromptLibrary:
    library = PromptLibrary(**data.model_dump(mode="json"))
    return await curation.add(session, KIND, by, library)


async def update_library(
    session: AsyncSession, by: Member, library: PromptLibrary, data: LibraryUpdate
) -> PromptLibrary:
    """Null means unchanged. A published library goes back to draft; members keep the
    details of its published version until the next publication."""
    wanted = {
        name: value
        for name, value in data.model_dump(mode="json", exclude_unset=True).items()
        if value is not None
    }
    return await curation.update(session, KIND, by, library, wanted)


async def live_versions(
    session: AsyncSession, library_id: uuid.UUID
) -> dict[uuid.UUID, PromptVersion]:
    """Each prompt's version members see now, by prompt."""
    found = await session.scalars(
        select(PromptVersion).where(
            PromptVersion.library_id == library_id, PromptVersion.is_live.is_(True)
        )
    )
    return {version.prompt_id: version for version in found}
