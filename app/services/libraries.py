"""Curating prompt libraries: who may, the draft → review → published → archived life cycle,
and publication, which freezes the working copy as a numbered version members see.

Members only ever see `is_live` prompt versions of libraries that are not archived, so a
published library can be edited (it goes back to draft) while members keep the live version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, Forbidden, NotFound
from app.core.security import Actor
from app.models.base import utcnow
from app.models.prompts import (
    LibraryStatus,
    LibraryVersion,
    Prompt,
    PromptLibrary,
    PromptVersion,
    PromptVersionStatus,
)
from app.models.users import Role, User
from app.schemas.libraries import LibraryCreate, LibraryUpdate
from app.services import audit, curation
from app.services.audit import Editor

CURATOR_ROLES: Final = frozenset({Role.curator, Role.admin})

TRANSITIONS: Final = curation.transitions(LibraryStatus)
_ACTIONS: Final = curation.audit_actions("library")
EDITABLE: Final = curation.editable(LibraryStatus)


class NotCurator(Forbidden):
    slug = "not-a-curator"
    title = "Only curators and admins curate content"


class LibraryNotFound(NotFound):
    slug = "library-not-found"
    title = "No library has this id"


class SlugTaken(Conflict):
    slug = "library-slug-taken"
    title = "A library already has this slug"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "The library's status does not allow this move"


class LibraryLocked(Conflict):
    slug = "library-locked"
    title = "The library cannot be edited in its current status"


class EmptyLibrary(Conflict):
    slug = "empty-library"
    title = "The library has no prompts"


@dataclass
class LibraryView:
    library: PromptLibrary
    prompts: list[tuple[Prompt, PromptVersion]]
    """Working prompts with their newest version, removals pending publication included."""
    versions: list[LibraryVersion]


def allowed_moves(status: LibraryStatus) -> list[str]:
    return list(TRANSITIONS[status])


async def authorize(session: AsyncSession, actor: Actor) -> Editor:
    """The actor as an editor, if their role (read now: roles change) lets them curate."""
    user_id = actor.require_user()
    role = await session.scalar(select(User.role).where(User.id == user_id))
    if role not in CURATOR_ROLES:
        raise NotCurator("Your account's role does not include curating prompt libraries.")
    return Editor(user_id=user_id, client_id=actor.client_id)


async def get_library(
    session: AsyncSession, library_id: uuid.UUID, *, for_change: bool = False
) -> PromptLibrary:
    """The library; `for_change` locks its row so concurrent changes queue (PostgreSQL)."""
    statement = select(PromptLibrary).where(PromptLibrary.id == library_id)
    if for_change:
        statement = statement.with_for_update()
    library = await session.scalar(statement)
    if library is None:
        raise LibraryNotFound("No library has this id.")
    return library


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
    versions = await session.scalars(
        select(LibraryVersion)
        .where(LibraryVersion.library_id == library.id)
        .order_by(LibraryVersion.number)
    )
    return LibraryView(
        library=library,
        prompts=[(prompt, version) for prompt, version in rows],
        versions=list(versions),
    )


async def list_libraries(
    session: AsyncSession, params: PageQuery, *, status: LibraryStatus | None = None
) -> Window[PromptLibrary]:
    statement = select(PromptLibrary)
    if status is not None:
        statement = statement.where(PromptLibrary.status == status)
    return await paginate(session, statement, order=(PromptLibrary.slug,), params=params)


async def slug_exists(session: AsyncSession, slug: str) -> bool:
    return (
        await session.scalar(select(PromptLibrary.id).where(PromptLibrary.slug == slug))
    ) is not None


async def insert_library(session: AsyncSession, library: PromptLibrary) -> None:
    if await slug_exists(session, library.slug):
        raise SlugTaken(f"The slug {library.slug!r} is taken; choose another.")
    session.add(library)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # created concurrently under the same slug
        raise SlugTaken(f"The slug {library.slug!r} is taken; choose another.") from None


async def create_library(
    session: AsyncSession, editor: Editor, data: LibraryCreate
) -> PromptLibrary:
    library = PromptLibrary(
        slug=data.slug,
        title=data.title,
        description=data.description,
        locale=data.locale,
        stages=[stage.value for stage in data.stages],
        opt_in=data.opt_in,
        status=LibraryStatus.draft,
        created_by=editor.user_id,
    )
    await insert_library(session, library)
    audit.record(
        session,
        editor,
        "library.created",
        entity_type="library",
        entity_id=library.id,
        after=audit.library_snapshot(library),
    )
    await session.flush()
    return library


def open_for_edit(library: PromptLibrary) -> None:
    """Refuse edits under review or archived; a published library goes back to draft, while
    members keep its live version until the next publication."""
    if library.status not in EDITABLE:
        raise LibraryLocked(
            f"A library in {library.status.value} cannot be edited."
            + (" Return it to draft first." if library.status is LibraryStatus.review else "")
            + (" Restore it first." if library.status is LibraryStatus.archived else ""),
            current_status=library.status.value,
            allowed_transitions=allowed_moves(library.status),
        )
    if library.status is LibraryStatus.published:
        library.status = LibraryStatus.draft


async def update_library(
    session: AsyncSession, editor: Editor, library: PromptLibrary, data: LibraryUpdate
) -> PromptLibrary:
    wanted = {
        name: value
        for name, value in data.model_dump(exclude_unset=True).items()
        if value is not None
    }
    if "stages" in wanted:
        wanted["stages"] = [str(stage) for stage in wanted["stages"]]
    changes = {name: value for name, value in wanted.items() if getattr(library, name) != value}
    if not changes:
        return library
    before = audit.library_snapshot(library)
    open_for_edit(library)
    for name, value in changes.items():
        setattr(library, name, value)
    await session.flush()
    audit.record(
        session,
        editor,
        "library.updated",
        entity_type="library",
        entity_id=library.id,
        before=before,
        after=audit.library_snapshot(library),
    )
    await session.flush()
    return library


async def transition(
    session: AsyncSession,
    editor: Editor,
    library: PromptLibrary,
    move: str,
    *,
    comment: str | None = None,
) -> PromptLibrary:
    moves = TRANSITIONS[library.status]
    if move not in moves:
        allowed = allowed_moves(library.status)
        raise IllegalTransition(
            f"A library in {library.status.value} cannot {move}; "
            + (f"it can: {', '.join(allowed)}." if allowed else "it cannot move."),
            current_status=library.status.value,
            allowed_transitions=allowed,
        )
    before = audit.library_snapshot(library)
    after_extra: dict[str, object] = {}
    if move == "submit":
        active = await session.scalar(
            select(func.count())
            .select_from(Prompt)
            .where(Prompt.library_id == library.id, Prompt.removed_at.is_(None))
        )
        if not active:
            raise EmptyLibrary("Add at least one prompt before submitting the library for review.")
    if move == "publish":
        version = await freeze(session, editor, library)
        after_extra["prompt_count"] = version.prompt_count
    else:
        library.status = moves[move]
    if comment:
        after_extra["comment"] = comment
    await session.flush()
    audit.record(
        session,
        editor,
        _ACTIONS[move],
        entity_type="library",
        entity_id=library.id,
        before=before,
        after={**audit.library_snapshot(library), **after_extra},
    )
    await session.flush()
    return library


async def freeze(session: AsyncSession, editor: Editor, library: PromptLibrary) -> LibraryVersion:
    """Publish the working copy as the next numbered version.

    Each prompt's draft version becomes published and live, superseding its previous live
    version; removed prompts lose their live version. Published versions are never edited,
    so answers keep pointing at the exact wording that was answered.
    """
    number = 1 + (
        await session.scalar(
            select(func.coalesce(func.max(LibraryVersion.number), 0)).where(
                LibraryVersion.library_id == library.id
            )
        )
        or 0
    )
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
    frozen = LibraryVersion(
        library_id=library.id,
        number=number,
        published_at=now,
        published_by=editor.user_id,
        prompt_count=len(prompts) - len(removed),
    )
    session.add(frozen)
    library.status = LibraryStatus.published
    library.published_version = number
    await session.flush()
    return frozen
