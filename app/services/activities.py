"""Time together: the couple's list of activity ideas, and each partner's private marks.

Ideas are the live `play` prompts of the libraries the couple draws from (as the daily
prompt's pool: the couple's chosen libraries, or every library that is not opt-in), each in
the reader's language with `fallback` said as prompts say it, plus the couple's own ideas
(free text, sealed under the author's key, visible to both partners).

A mark (`want` / `not_now`) is its author's alone: responses show the caller's own mark and
never the partner's, and no event carries one. A match is stored when both partners want
the same idea (`activity_rules.is_match`); the couple's row is locked while a mark changes,
so two partners marking at once still meet. When a mark stops being `want` before the match
was planned, the match goes away (`activity.unmatched`, which says neither who nor how).

Who sees it: the two current members of the couple, through a first-party app, or through a
third-party one only while BOTH partners consent to it with `activities:read` (the list
holds both partners' words), as `repair_access` decides for repair plans. Anybody else, an
ex-partner included, finds nothing (404).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.core.languages import Preferences
from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, Forbidden, NotFound
from app.core.security import Member, Scope
from app.models.activities import (
    ActivityIdea,
    ActivityMark,
    ActivityMatch,
    ActivityReview,
    IdeaSource,
    Mark,
)
from app.models.couples import Couple
from app.models.prompts import Category, LibraryStatus, Prompt, PromptLibrary, PromptVersion
from app.services import activity_rules as rules
from app.services.repair_access import Caller, record_event, resolve_caller
from app.services.wordings import wordings

READ: frozenset[str] = frozenset({Scope.activities_read.value})
WRITE: frozenset[str] = READ | {Scope.activities_write.value}


class ActivitiesHidden(NotFound):
    slug = "activities-not-found"
    title = "No activities are visible here"


class IdeaNotFound(NotFound):
    slug = "activity-idea-not-found"
    title = "Activity idea not found"


class NotYourIdea(Forbidden):
    slug = "activity-idea-not-yours"
    title = "Only the partner who added an idea can remove it"


class IdeaPlanned(Conflict):
    slug = "activity-idea-planned"
    title = "The idea is planned"


@dataclass
class IdeaView:
    """One idea as one partner reads it."""

    id: uuid.UUID
    source: IdeaSource
    title: str
    note: str | None
    locale: str | None
    fallback: bool
    author_id: uuid.UUID | None
    created_at: datetime
    my_mark: Mark | None
    match_id: uuid.UUID | None


async def caller_for(session: AsyncSession, me: Member, needed: frozenset[str]) -> Caller:
    hidden = ActivitiesHidden(
        "This app can see a couple's activities only once both partners have allowed it."
    )
    return await resolve_caller(session, me, needed, hidden=hidden)


def curated_versions(
    couple: Couple, statement: Select[*tuple[Any, ...]]
) -> Select[*tuple[Any, ...]]:
    """`statement` (over `PromptVersion`) narrowed to the live play prompts the couple reads."""
    statement = statement.join(PromptLibrary, PromptLibrary.id == PromptVersion.library_id).where(
        PromptVersion.is_live.is_(True),
        PromptVersion.category == Category.play,
        PromptLibrary.published_version.is_not(None),
        PromptLibrary.status != LibraryStatus.archived,
    )
    if couple.enabled_libraries:
        return statement.where(PromptLibrary.slug.in_(couple.enabled_libraries))
    return statement.where(PromptLibrary.opt_in.is_(False))


async def views(
    session: AsyncSession, caller: Caller, ids: list[uuid.UUID], wanted: Preferences
) -> list[IdeaView]:
    """The ideas among `ids` (curated or own) as the caller sees them, in `ids`' order."""
    if not ids:
        return []
    couple = caller.couple
    versions = list(
        await session.scalars(
            curated_versions(couple, select(PromptVersion)).where(PromptVersion.prompt_id.in_(ids))
        )
    )
    own = await session.scalars(
        select(ActivityIdea).where(ActivityIdea.couple_id == couple.id, ActivityIdea.id.in_(ids))
    )
    marks: dict[uuid.UUID, Mark] = dict(
        (
            await session.execute(
                select(ActivityMark.idea_id, ActivityMark.mark).where(
                    ActivityMark.couple_id == couple.id,
                    ActivityMark.user_id == caller.user_id,
                    ActivityMark.idea_id.in_(ids),
                )
            )
        ).all()
    )
    matches: dict[uuid.UUID, uuid.UUID] = dict(
        (
            await session.execute(
                select(ActivityMatch.idea_id, ActivityMatch.id).where(
                    ActivityMatch.couple_id == couple.id, ActivityMatch.idea_id.in_(ids)
                )
            )
        ).all()
    )
    words = await wordings(session, versions, wanted)
    found: dict[uuid.UUID, IdeaView] = {}
    for version in versions:
        wording = words[version.id]
        found[version.prompt_id] = IdeaView(
            id=version.prompt_id,
            source=IdeaSource.curated,
            title=wording.text,
            note=None,
            locale=wording.locale,
            fallback=wording.fallback,
            author_id=None,
            created_at=version.published_at or version.created_at,
            my_mark=marks.get(version.prompt_id),
            match_id=matches.get(version.prompt_id),
        )
    for idea in own:
        found[idea.id] = IdeaView(
            id=idea.id,
            source=IdeaSource.own,
            title=idea.title,
            note=idea.note,
            locale=None,
            fallback=False,
            author_id=idea.author_id,
            created_at=idea.created_at,
            my_mark=marks.get(idea.id),
            match_id=matches.get(idea.id),
        )
    return [found[idea_id] for idea_id in ids if idea_id in found]


async def list_ideas(
    session: AsyncSession, me: Member, params: PageQuery, wanted: Preferences
) -> tuple[list[IdeaView], Window[uuid.UUID]]:
    """The couple's own ideas (newest first), then the curated ones, with the caller's
    marks."""
    caller = await caller_for(session, me, READ)
    curated = curated_versions(
        caller.couple,
        select(
            PromptVersion.prompt_id.label("id"),
            Prompt.created_at.label("at"),
            literal(0).label("rank"),
        ).join(Prompt, Prompt.id == PromptVersion.prompt_id),
    )
    own = select(
        ActivityIdea.id.label("id"),
        ActivityIdea.created_at.label("at"),
        literal(1).label("rank"),
    ).where(ActivityIdea.couple_id == caller.couple.id)
    listing = union_all(curated, own).subquery("ideas")
    window = await paginate(
        session,
        select(listing.c.id),
        order=(listing.c.rank, listing.c.at, listing.c.id),
        params=params,
        descending=True,
    )
    return await views(session, caller, window.items, wanted), window


async def find_idea(
    session: AsyncSession, caller: Caller, idea_id: uuid.UUID, wanted: Preferences
) -> IdeaView:
    found = await views(session, caller, [idea_id], wanted)
    if not found:
        raise IdeaNotFound("Your couple has no activity idea with this id.")
    return found[0]


async def get_idea(
    session: AsyncSession, me: Member, idea_id: uuid.UUID, wanted: Preferences
) -> IdeaView:
    return await find_idea(session, await caller_for(session, me, READ), idea_id, wanted)


async def add_idea(
    session: AsyncSession, me: Member, title: str, note: str | None, now: datetime
) -> IdeaView:
    caller = await caller_for(session, me, WRITE)
    idea = ActivityIdea(
        id=uuid.uuid4(),
        couple_id=caller.couple.id,
        author_id=caller.user_id,
        title=title,
        note=note,
        created_at=now,
    )
    session.add(idea)
    await session.flush()
    await record_event(session, "activity.idea_added", caller, idea_id=idea.id)
    return await find_idea(session, caller, idea.id, Preferences())


async def remove_idea(session: AsyncSession, me: Member, idea_id: uuid.UUID) -> None:
    """The author removes their idea, with every mark on it, unless it is planned."""
    caller = await caller_for(session, me, WRITE)
    await _lock_couple(session, caller.couple.id)  # no mark makes a match meanwhile
    idea = await session.scalar(
        select(ActivityIdea)
        .where(ActivityIdea.id == idea_id, ActivityIdea.couple_id == caller.couple.id)
        .with_for_update()
    )
    if idea is None:
        raise IdeaNotFound("Your couple has no idea of its own with this id.")
    if idea.author_id != caller.user_id:
        raise NotYourIdea("Your partner added this idea; only they can remove it.")
    match = await _match_of(session, caller.couple.id, idea_id)
    if match is not None and not rules.drops_match(
        planned=match.planned_for is not None, reviewed=await _reviewed(session, match)
    ):
        raise IdeaPlanned("You planned this idea together; clear the plan before removing it.")
    if match is not None:
        await session.delete(match)
    await session.execute(
        delete(ActivityMark).where(
            ActivityMark.couple_id == caller.couple.id, ActivityMark.idea_id == idea_id
        )
    )
    await session.delete(idea)
    await session.flush()
    await record_event(session, "activity.idea_removed", caller, idea_id=idea_id)


async def _match_of(
    session: AsyncSession, couple_id: uuid.UUID, idea_id: uuid.UUID
) -> ActivityMatch | None:
    return await session.scalar(
        select(ActivityMatch).where(
            ActivityMatch.couple_id == couple_id, ActivityMatch.idea_id == idea_id
        )
    )


async def _reviewed(session: AsyncSession, match: ActivityMatch) -> bool:
    found = await session.scalar(
        select(ActivityReview.id).where(ActivityReview.match_id == match.id).limit(1)
    )
    return found is not None


async def _lock_couple(session: AsyncSession, couple_id: uuid.UUID) -> None:
    """Marks of one couple queue here, so the second `want` always sees the first."""
    await session.scalar(select(Couple.id).where(Couple.id == couple_id).with_for_update())


async def set_mark(
    session: AsyncSession,
    me: Member,
    idea_id: uuid.UUID,
    mark: Mark | None,
    now: datetime,
    wanted: Preferences,
) -> IdeaView:
    """Mark an idea (`mark`), or withdraw the caller's mark (None); the match follows."""
    caller = await caller_for(session, me, WRITE)
    couple_id = caller.couple.id
    await _lock_couple(session, couple_id)
    idea = await find_idea(session, caller, idea_id, wanted)
    mine = await session.scalar(
        select(ActivityMark).where(
            ActivityMark.couple_id == couple_id,
            ActivityMark.user_id == caller.user_id,
            ActivityMark.idea_id == idea_id,
        )
    )
    if mark is None:
        if mine is not None:
            await session.delete(mine)
    elif mine is None:
        session.add(
            ActivityMark(
                couple_id=couple_id,
                user_id=caller.user_id,
                idea_id=idea_id,
                source=idea.source,
                mark=mark,
                updated_at=now,
            )
        )
    elif mine.mark is not mark:
        mine.mark, mine.updated_at = mark, now
    await session.flush()
    await _follow_marks(session, caller, idea, now)
    return await find_idea(session, caller, idea_id, wanted)


async def _follow_marks(
    session: AsyncSession, caller: Caller, idea: IdeaView, now: datetime
) -> None:
    """Store the match the marks make now, or drop the one they no longer make."""
    couple_id = caller.couple.id
    members = [caller.user_id] + ([caller.partner_id] if caller.partner_id else [])
    marks: dict[uuid.UUID, Mark] = dict(
        (
            await session.execute(
                select(ActivityMark.user_id, ActivityMark.mark).where(
                    ActivityMark.couple_id == couple_id,
                    ActivityMark.idea_id == idea.id,
                    ActivityMark.user_id.in_(members),
                )
            )
        ).all()
    )
    match = await _match_of(session, couple_id, idea.id)
    if match is None and rules.is_match(members, marks):
        match = ActivityMatch(
            id=uuid.uuid4(),
            couple_id=couple_id,
            idea_id=idea.id,
            source=idea.source,
            matched_at=now,
            updated_at=now,
        )
        session.add(match)
        await session.flush()
        # The couple's, not a person's: the event does not say whose mark made the match.
        await append_event(
            session,
            "activity.matched",
            couple_id=couple_id,
            match_id=match.id,
            idea_id=idea.id,
            source=idea.source.value,
        )
    elif match is not None and not rules.is_match(members, marks):
        reviewed = await _reviewed(session, match)
        if rules.drops_match(planned=match.planned_for is not None, reviewed=reviewed):
            match_id = match.id
            await session.delete(match)
            await session.flush()
            await append_event(
                session,
                "activity.unmatched",
                couple_id=couple_id,
                match_id=match_id,
                idea_id=idea.id,
            )
