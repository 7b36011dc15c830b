"""What a reader sees of prompt versions in the languages they want (`Preferences`).

Each prompt reads in the first language the reader wants that it exists in (its own, or a
live translation's), else in its library's language, with `fallback` set when that is not
the reader's first choice. Both partners get the same prompt of the day, each in their own
language: the day names the version, the reader picks the words.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import Preferences, language_of
from app.models.prompts import PromptTranslation, PromptVersion
from app.models.users import User


@dataclass(frozen=True, slots=True)
class Wording:
    """A prompt version's words as one reader sees them."""

    text: str
    listener_guidance: str | None
    locale: str
    fallback: bool


async def live_languages(
    session: AsyncSession, version_ids: Iterable[uuid.UUID], language: str
) -> set[uuid.UUID]:
    """The versions among `version_ids` with a live translation into `language`."""
    ids = list(version_ids)
    if not ids:
        return set()
    found = await session.scalars(
        select(PromptTranslation.prompt_version_id).where(
            PromptTranslation.prompt_version_id.in_(ids),
            PromptTranslation.is_live.is_(True),
            PromptTranslation.locale == language,
        )
    )
    return set(found)


async def wordings(
    session: AsyncSession, versions: Sequence[PromptVersion], wanted: Preferences
) -> dict[uuid.UUID, Wording]:
    """Each version's words for a reader who wants `wanted`, by version id; one query, and
    none when every version is already in the reader's first language (or none is asked)."""
    own = {v.id: language_of(v.locale) for v in versions}
    asked = set(wanted.languages)
    foreign = [v.id for v in versions if wanted.first is not None and own[v.id] != wanted.first]
    by_version: dict[uuid.UUID, dict[str, PromptTranslation]] = {}
    if foreign and asked:
        rows = await session.scalars(
            select(PromptTranslation).where(
                PromptTranslation.prompt_version_id.in_(foreign),
                PromptTranslation.is_live.is_(True),
                PromptTranslation.locale.in_(asked),
            )
        )
        for row in rows:
            by_version.setdefault(row.prompt_version_id, {})[row.locale] = row
    result: dict[uuid.UUID, Wording] = {}
    for version in versions:
        _, chosen, fallback = wanted.choose(version.locale, by_version.get(version.id, {}))
        if chosen is None:
            result[version.id] = Wording(
                version.text, version.listener_guidance, version.locale, fallback
            )
        else:
            result[version.id] = Wording(
                chosen.text, chosen.listener_guidance, chosen.locale, fallback
            )
    return result


async def reader_preferences(
    session: AsyncSession, user_id: uuid.UUID | None, accept_language: str | None
) -> Preferences:
    """What a request asks for (`Accept-Language`); without it, the person's own locale."""
    if accept_language or user_id is None:
        return Preferences.of(accept_language)
    locale = await session.scalar(select(User.locale).where(User.id == user_id))
    return Preferences.of(None, locale)
