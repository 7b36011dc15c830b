"""What members see of curated content: published libraries and the live prompt versions.

Drafts, copies under review and archived libraries never appear here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import Preferences, language_of
from app.core.pagination import PageQuery, Window, paginate
from app.models.prompts import (
    Category,
    LibraryStatus,
    LibraryVersion,
    Prompt,
    PromptLibrary,
    PromptTranslation,
    PromptVersion,
)
from app.services.wordings import Wording, wordings


@dataclass(frozen=True, slots=True)
class CatalogLibrary:
    library: PromptLibrary
    version: int
    prompt_count: int
    published: LibraryVersion
    """Its details as members see them: the published version's, not the working copy's."""
    details: Details
    """Its title and description in the reader's language, or the library's."""


@dataclass(frozen=True, slots=True)
class Details:
    title: str
    description: str
    locale: str
    fallback: bool


@dataclass(frozen=True, slots=True)
class CatalogPrompt:
    version: PromptVersion
    library_slug: str
    wording: Wording


def details_for(published: LibraryVersion, wanted: Preferences) -> Details:
    """A publication's title and description in the first language the reader wants."""
    language, chosen, fallback = wanted.choose(published.locale, published.translations or {})
    if chosen is None:
        return Details(published.title, published.description, published.locale, fallback)
    return Details(chosen["title"], chosen["description"], language, fallback)


def _visible_libraries() -> Select[PromptLibrary]:
    return select(PromptLibrary).where(
        PromptLibrary.published_version.is_not(None),
        PromptLibrary.status != LibraryStatus.archived,
    )


async def list_libraries(
    session: AsyncSession, params: PageQuery, wanted: Preferences = Preferences()
) -> Window[CatalogLibrary]:
    window = await paginate(
        session, _visible_libraries(), order=(PromptLibrary.slug,), params=params
    )
    published: dict[uuid.UUID, LibraryVersion] = {}
    if window.items:
        rows = await session.execute(
            select(LibraryVersion.library_id, LibraryVersion)
            .join(
                PromptLibrary,
                and_(
                    PromptLibrary.id == LibraryVersion.library_id,
                    PromptLibrary.published_version == LibraryVersion.number,
                ),
            )
            .where(LibraryVersion.library_id.in_([library.id for library in window.items]))
        )
        published = {library_id: version for library_id, version in rows}
    items = [
        CatalogLibrary(
            library=library,
            version=library.published_version or 0,
            prompt_count=published[library.id].prompt_count,
            published=published[library.id],
            details=details_for(published[library.id], wanted),
        )
        for library in window.items
    ]
    return Window(items=items, next_cursor=window.next_cursor, has_more=window.has_more)


async def list_prompts(
    session: AsyncSession,
    params: PageQuery,
    *,
    library: str | None = None,
    category: Category | None = None,
    depth: int | None = None,
    locale: str | None = None,
    wanted: Preferences = Preferences(),
) -> Window[CatalogPrompt]:
    """Live versions, ordered by library slug then prompt key, in the reader's language.

    `locale` keeps the prompts that read in that language: written in it (`en` also finds
    `en-GB`) or with a live translation into it."""
    statement = (
        select(PromptVersion)
        .join(PromptLibrary, PromptLibrary.id == PromptVersion.library_id)
        .join(Prompt, Prompt.id == PromptVersion.prompt_id)
        .where(
            PromptVersion.is_live.is_(True),
            PromptLibrary.status != LibraryStatus.archived,
        )
    )
    if library is not None:
        try:
            statement = statement.where(PromptLibrary.id == uuid.UUID(library))
        except ValueError:
            statement = statement.where(PromptLibrary.slug == library)
    if category is not None:
        statement = statement.where(PromptVersion.category == category)
    if depth is not None:
        statement = statement.where(PromptVersion.depth == depth)
    if locale is not None:
        # "en" also finds "en-GB": a language matches its regional variants.
        translated = exists().where(
            PromptTranslation.prompt_version_id == PromptVersion.id,
            PromptTranslation.is_live.is_(True),
            PromptTranslation.locale == language_of(locale),
        )
        statement = statement.where(
            or_(
                PromptVersion.locale == locale,
                PromptVersion.locale.startswith(locale + "-", autoescape=True),
                translated,
            )
        )
    window = await paginate(
        session, statement, order=(PromptLibrary.slug, Prompt.key), params=params
    )
    slugs: dict[uuid.UUID, str] = {}
    library_ids = {version.library_id for version in window.items}
    if library_ids:
        rows = await session.execute(
            select(PromptLibrary.id, PromptLibrary.slug).where(PromptLibrary.id.in_(library_ids))
        )
        slugs = {library_id: slug for library_id, slug in rows}
    texts = await wordings(session, window.items, wanted)
    items = [
        CatalogPrompt(version=v, library_slug=slugs[v.library_id], wording=texts[v.id])
        for v in window.items
    ]
    return Window(items=items, next_cursor=window.next_cursor, has_more=window.has_more)
