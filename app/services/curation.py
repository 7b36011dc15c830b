"""The editorial life cycle every kind of curated content shares (prompt libraries, repair
templates): draft → review → published → archived, who may move it, the versions frozen on
publication, and the audit log of every change.

A kind plugs in through a `Kind`: its models, its problems, its own audit fields, when it is
ready for review, and what of its content a publication freezes. Everything else is here.

A published item can be edited: it goes back to draft while members keep its published
version, details included, until the next publication. An archived item disappears for
members at once; restored, it is seen again in its last published version.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, NamedTuple, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, NotFound
from app.core.security import Member
from app.models.base import utcnow
from app.models.curation import CuratedContent, PublishedVersion
from app.services import audit, roles

Item = TypeVar("Item", bound=CuratedContent)
Version = TypeVar("Version", bound=PublishedVersion)

# move → the status it leads to, per current status.
_MOVES: Final = {
    "draft": {"submit": "review", "archive": "archived"},
    "review": {"publish": "published", "return": "draft", "archive": "archived"},
    "published": {"archive": "archived"},
    "archived": {"restore": "draft"},
}
_PAST: Final = {
    "submit": "submitted",
    "publish": "published",
    "return": "returned",
    "archive": "archived",
    "restore": "restored",
}
ACTIONS: Final = ("created", "imported", "seeded", "updated", *_PAST.values())
"""Every `<entity>.<action>` the audit log can hold for curated content."""
REVIEW_MOVES: Final = frozenset({"publish", "return"})
"""The moves that review a submission: never by the curator who submitted it."""
EDITABLE: Final = frozenset({"draft", "published"})
_HINTS: Final = {"review": " Return it to draft first.", "archived": " Restore it first."}


class Problems(NamedTuple):
    """The problems a kind answers with; their titles and types are part of the API."""

    not_found: type[NotFound]
    slug_taken: type[Conflict]
    illegal_transition: type[Conflict]
    locked: type[Conflict]

    @classmethod
    def named(cls, prefix: str, *, noun: str, short: str, transition: str = "") -> Problems:
        """The problems of a kind whose types start `prefix-`, named `noun` in full and
        `short` in moves; `transition` overrides the illegal-transition type."""

        def problem(base: type[Any], name: str, slug: str, title: str) -> type[Any]:
            return type(name, (base,), {"slug": slug, "title": title, "__module__": __name__})

        return cls(
            not_found=problem(
                NotFound, "NotFound", f"{prefix}-not-found", f"No {noun} has this id"
            ),
            slug_taken=problem(
                Conflict, "SlugTaken", f"{prefix}-slug-taken", f"A {noun} already has this slug"
            ),
            illegal_transition=problem(
                Conflict,
                "IllegalTransition",
                transition or f"{prefix}-illegal-transition",
                f"The {short}'s status does not allow this move",
            ),
            locked=problem(
                Conflict,
                "Locked",
                f"{prefix}-locked",
                f"The {short} cannot be edited in its current status",
            ),
        )


@dataclass(frozen=True, kw_only=True)
class Kind(Generic[Item, Version]):
    entity: str
    """The audit log's entity type and action prefix, e.g. `library`."""
    noun: str
    """How messages name one, e.g. `template`."""
    model: type[Item]
    version_model: type[Version]
    problems: Problems
    fields: tuple[str, ...]
    """The kind's own fields of the working copy, for the audit log."""
    version_fields: tuple[str, ...]
    """The kind's own fields of a version, for the audit log."""
    check_ready: Callable[[AsyncSession, Item], Awaitable[None]]
    """Raise when the item cannot go to review yet (nothing in it)."""
    freeze_content: Callable[[AsyncSession, Item, int], Awaitable[Version]]
    """A new, unsaved version numbered so, holding the kind's own content; the engine adds
    the shared details and saves it."""

    @property
    def version_owner(self) -> Any:
        """The version model's column naming the item, e.g. `LibraryVersion.library_id`."""
        table = self.model.__table__.name  # type: ignore[attr-defined]
        for column in self.version_model.__table__.columns:  # type: ignore[attr-defined]
            if any(key.column.table.name == table for key in column.foreign_keys):
                return getattr(self.version_model, column.key)
        raise LookupError(f"{self.version_model.__name__} names no {table} row")

    async def get(
        self, session: AsyncSession, item_id: uuid.UUID, *, for_change: bool = False
    ) -> Item:
        return await get(session, self, item_id, for_change=for_change)

    async def list_items(
        self, session: AsyncSession, params: PageQuery, *, status: Any = None
    ) -> Window[Item]:
        return await list_items(session, self, params, status=status)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def allowed_moves(item: CuratedContent) -> list[str]:
    return list(_MOVES[item.status.value])


def snapshot(kind: Kind[Item, Version], item: Item) -> dict[str, Any]:
    """The working copy as the audit log keeps it: plain JSON built here."""
    return {
        "slug": item.slug,
        "title": item.title,
        "description": item.description,
        "locale": item.locale,
        **{name: _plain(getattr(item, name)) for name in kind.fields},
        "status": item.status.value,
        "published_version": item.published_version,
    }


def version_snapshot(kind: Kind[Item, Version], version: Version) -> dict[str, Any]:
    """What members see of a publication, as the audit log keeps it."""
    return {
        "number": version.number,
        "title": version.title,
        "description": version.description,
        "locale": version.locale,
        **{name: _plain(getattr(version, name)) for name in kind.version_fields},
    }


def record(
    session: AsyncSession,
    kind: Kind[Item, Version],
    by: Member | None,
    action: str,
    item: Item,
    *,
    before: dict[str, Any] | None = None,
    **after_extra: Any,
) -> None:
    audit.record(
        session,
        by,
        f"{kind.entity}.{action}",
        entity_type=kind.entity,
        entity_id=item.id,
        before=before,
        after={**snapshot(kind, item), **after_extra},
    )


async def get(
    session: AsyncSession,
    kind: Kind[Item, Version],
    item_id: uuid.UUID,
    *,
    for_change: bool = False,
) -> Item:
    """The item; `for_change` locks its row so concurrent changes queue (PostgreSQL)."""
    statement = select(kind.model).where(kind.model.id == item_id)
    if for_change:
        statement = statement.with_for_update()
    item = await session.scalar(statement)
    if item is None:
        raise kind.problems.not_found(f"No {kind.noun} has this id.")
    return item


async def list_items(
    session: AsyncSession, kind: Kind[Item, Version], params: PageQuery, *, status: Any = None
) -> Window[Item]:
    """Every item whatever its status (or only `status`), by slug."""
    statement = select(kind.model)
    if status is not None:
        statement = statement.where(kind.model.status == status)
    return await paginate(session, statement, order=(kind.model.slug,), params=params)


async def versions(
    session: AsyncSession, kind: Kind[Item, Version], item_id: uuid.UUID
) -> list[Version]:
    """Its publications, oldest first."""
    model = kind.version_model
    found = await session.scalars(
        select(model).where(kind.version_owner == item_id).order_by(model.number)
    )
    return list(found)


async def slug_exists(session: AsyncSession, kind: Kind[Item, Version], slug: str) -> bool:
    found = await session.scalar(select(kind.model.id).where(kind.model.slug == slug))
    return found is not None


async def add(
    session: AsyncSession,
    kind: Kind[Item, Version],
    by: Member | None,
    item: Item,
    *,
    how: str = "created",
    fill: Callable[[AsyncSession, Item], Awaitable[dict[str, Any]]] | None = None,
    publish: bool = False,
) -> Item:
    """Save a new item in draft, `fill` it with its content (audit extras back), `publish` it
    at once if asked (the seed), and log it as `<entity>.<how>`. A taken slug is a conflict."""
    taken = kind.problems.slug_taken(f"The slug {item.slug!r} is taken; choose another.")
    if await slug_exists(session, kind, item.slug):
        raise taken
    item.id = item.id or uuid.uuid4()
    item.status = kind.model.status_type("draft")
    item.created_by = by.user_id if by else None
    session.add(item)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # created concurrently under the same slug
        raise taken from None
    extra = await fill(session, item) if fill else {}
    if publish:
        version = await freeze(session, kind, by, item)
        extra |= {"version": version.number, "published": version_snapshot(kind, version)}
    record(session, kind, by, how, item, **extra)
    await session.flush()
    return item


async def seed(
    session: AsyncSession,
    kind: Kind[Item, Version],
    item: Item,
    fill: Callable[[AsyncSession, Item], Awaitable[dict[str, Any]]] | None = None,
) -> bool:
    """Add starter content published as version 1 by the system, unless an item has its slug
    (whatever curators made of it since): False then, and nothing changes."""
    if await slug_exists(session, kind, item.slug):
        return False
    await add(session, kind, audit.SYSTEM, item, how="seeded", fill=fill, publish=True)
    return True


def open_for_edit(kind: Kind[Item, Version], item: Item) -> None:
    """Refuse edits under review or archived; a published item goes back to draft, while
    members keep its published version until the next publication."""
    status = item.status.value
    if status not in EDITABLE:
        raise kind.problems.locked(
            f"A {kind.noun} in {status} cannot be edited.{_HINTS.get(status, '')}",
            current_status=status,
            allowed_transitions=allowed_moves(item),
        )
    if status == "published":
        item.status = kind.model.status_type("draft")


async def update(
    session: AsyncSession,
    kind: Kind[Item, Version],
    by: Member,
    item: Item,
    wanted: dict[str, Any],
) -> Item:
    """Set the fields that differ from `wanted` and log the change; nothing differs, no-op."""
    changes = {name: value for name, value in wanted.items() if getattr(item, name) != value}
    if not changes:
        return item
    before = snapshot(kind, item)
    open_for_edit(kind, item)
    for name, value in changes.items():
        setattr(item, name, value)
    await session.flush()
    record(session, kind, by, "updated", item, before=before)
    await session.flush()
    return item


async def check_reviewer(
    session: AsyncSession, kind: Kind[Item, Version], by: Member, item: Item
) -> None:
    """`roles.OwnSubmission` when `by` may not review the item's latest submission."""
    submitter = await audit.last_actor(
        session, f"{kind.entity}.submitted", entity_type=kind.entity, entity_id=item.id
    )
    await roles.require_reviewer(session, by, submitter)


async def transition(
    session: AsyncSession,
    kind: Kind[Item, Version],
    by: Member,
    item: Item,
    move: str,
    *,
    comment: str | None = None,
) -> Item:
    status = item.status.value
    moves = _MOVES[status]
    if move not in moves:
        allowed = allowed_moves(item)
        raise kind.problems.illegal_transition(
            f"A {kind.noun} in {status} cannot {move}; "
            + (f"it can: {', '.join(allowed)}." if allowed else "it cannot move."),
            current_status=status,
            allowed_transitions=allowed,
        )
    if move == "submit":
        await kind.check_ready(session, item)
    if move in REVIEW_MOVES:
        await check_reviewer(session, kind, by, item)
    before = snapshot(kind, item)
    extra: dict[str, Any] = {}
    if move == "publish":
        previous = await published(session, kind, item)
        before["published"] = version_snapshot(kind, previous) if previous else None
        version = await freeze(session, kind, by, item)
        extra |= {"version": version.number, "published": version_snapshot(kind, version)}
    else:
        item.status = kind.model.status_type(moves[move])
    if comment:
        extra["comment"] = comment
    await session.flush()
    record(session, kind, by, _PAST[move], item, before=before, **extra)
    await session.flush()
    return item


async def published(session: AsyncSession, kind: Kind[Item, Version], item: Item) -> Version | None:
    """The version members see (archived or not), if it was ever published."""
    if item.published_version is None:
        return None
    model = kind.version_model
    found: Version | None = await session.scalar(
        select(model).where(kind.version_owner == item.id, model.number == item.published_version)
    )
    return found


async def freeze(
    session: AsyncSession, kind: Kind[Item, Version], by: Member | None, item: Item
) -> Version:
    """Publish the working copy, details included, as the next numbered version."""
    model = kind.version_model
    latest = await session.scalar(
        select(func.coalesce(func.max(model.number), 0)).where(kind.version_owner == item.id)
    )
    version = await kind.freeze_content(session, item, (latest or 0) + 1)
    version.title = item.title
    version.description = item.description
    version.locale = item.locale
    version.translations = dict(item.translations or {})
    version.published_at = utcnow()
    version.published_by = by.user_id if by else None
    session.add(version)
    item.status = kind.model.status_type("published")
    item.published_version = version.number
    await session.flush()
    return version
