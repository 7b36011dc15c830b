"""The starter libraries in other languages: `app/content/translations/<language>/libraries/`.

Each file is the library file of the same name with its texts translated (title,
description, each prompt's text and listener guidance) and everything else as it is. A
translated file that does not match its library, key for key and field for field, is a broken
installation: seeding stops with an error naming the file, rather than show a prompt whose
translation says something else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import language_of
from app.core.problems import FieldError
from app.models.base import utcnow
from app.models.prompts import (
    LibraryVersion,
    Prompt,
    PromptLibrary,
    PromptTranslation,
    PromptVersion,
)
from app.schemas.library_files import LibraryFile

# Translated: texts. Everything else must be the library's own.
_TEXT_FIELDS = frozenset({"text", "listener_guidance"})

Translations = dict[str, dict[str, bytes]]
"""Each language's translated library files, by file name."""


def read_translations(directory: Path) -> Translations:
    found: Translations = {}
    if not directory.is_dir():
        return found
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        files = sorted((folder / "libraries").glob("*.json"))
        found[folder.name] = {path.name: path.read_bytes() for path in files}
    return found


def _mismatches(source: LibraryFile, other: LibraryFile) -> list[str]:
    problems: list[str] = []
    if other.slug != source.slug:
        problems.append(f"slug {other.slug!r} is not {source.slug!r}")
    if [p.key for p in other.prompts] != [p.key for p in source.prompts]:
        problems.append("the prompts' keys differ from the library's, or their order")
        return problems
    for mine, theirs in zip(source.prompts, other.prompts, strict=True):
        kept = mine.model_dump(exclude=set(_TEXT_FIELDS))
        if theirs.model_dump(exclude=set(_TEXT_FIELDS)) != kept:
            problems.append(f"prompt {mine.key!r} changes more than its texts")
        if (mine.listener_guidance is None) != (theirs.listener_guidance is None):
            problems.append(f"prompt {mine.key!r} adds or drops its listener guidance")
    return problems


def translated_files(
    source: LibraryFile, name: str, translations: Translations
) -> dict[str, LibraryFile]:
    """The translations of the library file `name`, by language."""
    result: dict[str, LibraryFile] = {}
    for language, files in translations.items():
        raw = files.get(name)
        if raw is None:
            continue
        where = f"translations/{language}/libraries/{name}"
        try:
            other = LibraryFile.model_validate_json(raw, strict=True)
        except ValidationError as error:
            raise RuntimeError(f"{where} is not a valid library file: {error}") from error
        problems = _mismatches(source, other)
        if language_of(other.locale) != language or language == language_of(source.locale):
            problems.append(f"its locale {other.locale!r} is not {language!r}")
        if problems:
            raise RuntimeError(f"{where} does not match its library: " + "; ".join(problems))
        result[language] = other
    return result


async def add_seeded_translations(
    session: AsyncSession,
    library: PromptLibrary,
    prompts: Sequence[Prompt],
    translated: dict[str, LibraryFile],
) -> None:
    """Draft translations of a new library's first versions; its publication puts them live."""
    wanted = [
        _Draft(item.key, language, item.text, item.listener_guidance)
        for language, other in translated.items()
        for item in other.prompts
    ]
    await _add_drafts(session, library, prompts, wanted, by=None)


@dataclass(frozen=True, slots=True)
class _Draft:
    key: str
    language: str
    text: str
    listener_guidance: str | None


async def _add_drafts(
    session: AsyncSession,
    library: PromptLibrary,
    prompts: Sequence[Prompt],
    wanted: Sequence[_Draft],
    *,
    by: uuid.UUID | None,
) -> None:
    """Draft translations of the first versions of a new library's prompts, by key."""
    if not wanted:
        return
    rows = await session.execute(
        select(PromptVersion.prompt_id, PromptVersion.id).where(
            PromptVersion.library_id == library.id
        )
    )
    version_of: dict[uuid.UUID, uuid.UUID] = {prompt_id: vid for prompt_id, vid in rows}
    key_of = {prompt.key: prompt.id for prompt in prompts}
    session.add_all(
        PromptTranslation(
            prompt_version_id=version_of[key_of[draft.key]],
            library_id=library.id,
            locale=draft.language,
            text=draft.text,
            listener_guidance=draft.listener_guidance,
            is_live=False,
            created_by=by,
        )
        for draft in wanted
    )
    await session.flush()


async def backfill_translations(
    session: AsyncSession,
    library: PromptLibrary,
    data: LibraryFile,
    translated: dict[str, LibraryFile],
) -> int:
    """For a library installed before its translations shipped: each shipped translation
    whose original words are still the live ones, in each language the library has none in
    (live or draft), put live as a fresh installation would have it. Words curators changed
    since are theirs to translate: they are left alone. Returns the prompt translations added."""
    if not translated:
        return 0
    await _backfill_details(session, library, data, translated)
    shipped = {item.key: item for item in data.prompts}
    rows = await session.execute(
        select(PromptVersion, Prompt.key)
        .join(Prompt, Prompt.id == PromptVersion.prompt_id)
        .where(PromptVersion.library_id == library.id, PromptVersion.is_live.is_(True))
    )
    untouched = {
        key: version
        for version, key in rows
        if key in shipped
        and (version.text, version.listener_guidance)
        == (shipped[key].text, shipped[key].listener_guidance)
    }
    if not untouched:
        return 0
    held = {
        (version_id, locale)
        for version_id, locale in await session.execute(
            select(PromptTranslation.prompt_version_id, PromptTranslation.locale).where(
                PromptTranslation.library_id == library.id
            )
        )
    }
    now = utcnow()
    added = [
        PromptTranslation(
            prompt_version_id=version.id,
            library_id=library.id,
            locale=language,
            text=item.text,
            listener_guidance=item.listener_guidance,
            is_live=True,
            published_at=now,
        )
        for language, other in translated.items()
        for item in other.prompts
        if (version := untouched.get(item.key)) is not None and (version.id, language) not in held
    ]
    session.add_all(added)
    await session.flush()
    return len(added)


async def _backfill_details(
    session: AsyncSession,
    library: PromptLibrary,
    data: LibraryFile,
    translated: dict[str, LibraryFile],
) -> None:
    """The shipped title and description in each language the library (and its published
    version) lacks, while its own are still the shipped ones."""
    published = await session.scalar(
        select(LibraryVersion).where(
            LibraryVersion.library_id == library.id,
            LibraryVersion.number == library.published_version,
        )
    )
    for holder in (library, published):
        if holder is None or (holder.title, holder.description) != (data.title, data.description):
            continue
        missing = {
            language: {"title": other.title, "description": other.description}
            for language, other in translated.items()
            if language not in (holder.translations or {})
        }
        if missing:
            holder.translations = {**(holder.translations or {}), **missing}


def own_language_errors(document: object) -> list[FieldError]:
    """The translations of a library file (as parsed JSON) into the library's own language,
    pointed at as `#/translations/<language>` or `#/prompts/<n>/translations/<language>`:
    looked for even when other parts of the file are invalid."""
    if not isinstance(document, dict) or not isinstance(document.get("locale"), str):
        return []
    own = language_of(document["locale"])
    detail = f"is the library's own language ({document['locale']!r})"
    holders: list[tuple[str, object]] = [("#", document)]
    prompts = document.get("prompts")
    if isinstance(prompts, list):
        holders += [(f"#/prompts/{n}", item) for n, item in enumerate(prompts)]
    return [
        FieldError(pointer=f"{at}/translations/{language}", detail=detail)
        for at, holder in holders
        if isinstance(holder, dict) and isinstance(holder.get("translations"), dict)
        for language in holder["translations"]
        if language == own
    ]


async def add_file_translations(
    session: AsyncSession,
    library: PromptLibrary,
    prompts: Sequence[Prompt],
    data: LibraryFile,
    by: uuid.UUID | None,
) -> None:
    """The translations a library file carries for its prompts, as drafts of their first
    versions: live with the library's publication, reviewed by someone else."""
    wanted = [
        _Draft(item.key, language, words.text, words.listener_guidance)
        for item in data.prompts
        for language, words in item.translations.items()
    ]
    await _add_drafts(session, library, prompts, wanted, by=by)


async def exported_translations(
    session: AsyncSession, versions: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, PromptTranslation]]:
    """For export, each version's translations as its library's next publication would have
    them live: in each language the current (not stale) draft, else the live one unless it is
    being withdrawn."""
    found: dict[uuid.UUID, dict[str, PromptTranslation]] = {}
    rows = await session.scalars(
        select(PromptTranslation)
        .where(PromptTranslation.prompt_version_id.in_(versions))
        .order_by(PromptTranslation.is_live.desc(), PromptTranslation.locale)
    )
    for row in rows:  # live first, so a current draft overrides it
        if row.stale or row.withdrawing:
            continue
        found.setdefault(row.prompt_version_id, {})[row.locale] = row
    return found
