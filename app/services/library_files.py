"""Libraries as JSON files: export, import, and the starter content seeded from them.

One format serves all three: `app/content/libraries/*.json`, what export writes and what
import reads (`LibraryFile`). A file is validated as a whole before anything is written, and
every invalid item is reported with a JSON pointer such as `#/prompts/12/depth`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import FieldError, UnprocessableContent
from app.core.security import Member
from app.models.prompts import (
    Prompt,
    PromptLibrary,
    PromptTranslation,
    PromptVersion,
    PromptVersionStatus,
)
from app.schemas.library_files import LibraryFile
from app.services import curation
from app.services.audit import SYSTEM
from app.services.curation_files import field_errors, in_document_order, repeated
from app.services.libraries import KIND, LibraryView, get_library, load_view
from app.services.library_translation_files import (
    add_file_translations,
    add_seeded_translations,
    backfill_translations,
    exported_translations,
    own_language_errors,
    read_translations,
    translated_files,
)

FillLibrary = Callable[[AsyncSession, PromptLibrary], Awaitable[dict[str, Any]]]

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "libraries"
# One folder a language, each with the library files translated (`<language>/libraries/`).
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "content" / "translations"


class InvalidLibraryFile(UnprocessableContent):
    slug = "invalid-library-file"
    title = "The library file is not valid"


def parse_library_file(raw: bytes | str, *, source: str | None = None) -> LibraryFile:
    """The library a JSON document describes, or `InvalidLibraryFile` naming every problem.

    `source` (a file name) prefixes the problem's detail.
    """
    prefix = f"{source}: " if source else ""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidLibraryFile(
            f"{prefix}The file is not JSON.",
            errors=[FieldError(pointer="#", detail=f"is not JSON: {error}")],
        ) from None
    errors: list[FieldError] = []
    parsed: LibraryFile | None = None
    try:
        # Strict: "2" is not a depth and "true" is not a flag (lax mode would take both).
        parsed = LibraryFile.model_validate_json(raw, strict=True)
    except ValidationError as error:
        errors.extend(field_errors(error))
    prompts = document.get("prompts") if isinstance(document, dict) else None
    errors.extend(repeated(prompts, "key", "#/prompts"))
    errors.extend(own_language_errors(document))
    if errors or parsed is None:
        plural = "s" if len(errors) != 1 else ""
        raise InvalidLibraryFile(
            f"{prefix}{len(errors)} problem{plural} in the file, so nothing was written. "
            "Each error names its item with a JSON pointer.",
            errors=in_document_order(errors),
        )
    return parsed


def library_file(
    view: LibraryView, translations: dict[uuid.UUID, dict[str, PromptTranslation]] | None = None
) -> LibraryFile:
    """The working copy of a library, without the prompts removed from it, with the
    `translations` of its prompts' versions (by version id)."""
    library = view.library
    translations = translations or {}
    return LibraryFile.model_validate(
        {
            "slug": library.slug,
            "title": library.title,
            "description": library.description,
            "locale": library.locale,
            "stages": library.stages,
            "opt_in": library.opt_in,
            "translations": library.translations or {},
            "prompts": [
                {
                    "key": prompt.key,
                    "text": version.text,
                    "category": version.category,
                    "depth": version.depth,
                    "kind": version.kind,
                    "listener_guidance": version.listener_guidance,
                    "tags": version.tags,
                    "stages": version.stages,
                    "sensitive": version.sensitive,
                    "translations": {
                        language: {"text": row.text, "listener_guidance": row.listener_guidance}
                        for language, row in translations.get(version.id, {}).items()
                    },
                }
                for prompt, version in view.prompts
                if prompt.removed_at is None
            ],
        }
    )


async def export_file(session: AsyncSession, library_id: uuid.UUID) -> tuple[str, LibraryFile]:
    """The library's slug, and its working copy as a library file, with the translations
    its next publication would have live (current drafts, else live ones not withdrawn)."""
    library = await get_library(session, library_id)
    view = await load_view(session, library)
    versions = [version.id for prompt, version in view.prompts if prompt.removed_at is None]
    return library.slug, library_file(view, await exported_translations(session, versions))


def _read_files(directory: Path) -> list[tuple[str, bytes]]:
    return [(path.name, path.read_bytes()) for path in sorted(directory.glob("*.json"))]


def _library(data: LibraryFile, translated: dict[str, LibraryFile] | None = None) -> PromptLibrary:
    library = PromptLibrary(**data.model_dump(mode="json", exclude={"prompts", "translations"}))
    library.translations = {
        **data.model_dump(mode="json", include={"translations"})["translations"],
        **{
            language: {"title": other.title, "description": other.description}
            for language, other in (translated or {}).items()
        },
    }
    return library


def _prompts_of(
    data: LibraryFile, by: Member | None, translated: dict[str, LibraryFile] | None = None
) -> FillLibrary:
    async def fill(session: AsyncSession, library: PromptLibrary) -> dict[str, Any]:
        prompts = [
            Prompt(id=uuid.uuid4(), library_id=library.id, key=item.key) for item in data.prompts
        ]
        session.add_all(prompts)
        await session.flush()
        session.add_all(
            PromptVersion(
                prompt_id=prompt.id,
                library_id=library.id,
                number=1,
                status=PromptVersionStatus.draft,
                locale=data.locale,
                created_by=by.user_id if by else None,
                stages=[str(stage) for stage in item.stages],
                **item.model_dump(exclude={"key", "stages", "translations"}),
            )
            for prompt, item in zip(prompts, data.prompts, strict=True)
        )
        await session.flush()
        await add_file_translations(session, library, prompts, data, by.user_id if by else None)
        await add_seeded_translations(session, library, prompts, translated or {})
        return {"prompt_count": len(prompts)}

    return fill


async def import_file(session: AsyncSession, by: Member, raw: bytes) -> PromptLibrary:
    """A new draft library with the prompts of a library file, and the translations it
    carries as drafts (live with its first publication, reviewed by someone else); an invalid
    file or a taken slug changes nothing."""
    data = parse_library_file(raw)
    return await curation.add(
        session, KIND, by, _library(data), how="imported", fill=_prompts_of(data, by)
    )


async def seed_libraries(session: AsyncSession, directory: Path = CONTENT_DIR) -> dict[str, int]:
    """Load every library file of `directory` and publish it as version 1, by the system.

    A library whose slug exists is left as it is, whatever curators made of it since, but
    for the shipped translations it lacks of words still as shipped (`backfill_translations`).
    """
    counts = {"libraries": 0, "libraries_unchanged": 0, "prompts": 0, "translations_added": 0}
    translations = await anyio.to_thread.run_sync(read_translations, TRANSLATIONS_DIR)
    for name, raw in await anyio.to_thread.run_sync(_read_files, directory):
        data = parse_library_file(raw, source=name)
        translated = translated_files(data, name, translations)
        library = _library(data, translated)
        if await curation.seed(session, KIND, library, _prompts_of(data, SYSTEM, translated)):
            counts["libraries"] += 1
            counts["prompts"] += len(data.prompts)
            continue
        counts["libraries_unchanged"] += 1
        existing = await session.scalar(
            select(PromptLibrary).where(PromptLibrary.slug == data.slug)
        )
        if existing is None:
            continue
        added = await backfill_translations(session, existing, data, translated)
        if added:
            counts["translations_added"] += added
            curation.record(session, KIND, SYSTEM, "translations_seeded", existing, added=added)
    return counts
