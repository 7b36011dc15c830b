"""Libraries as JSON files: export, import, and the starter content seeded from them.

One format serves all three: `app/content/libraries/*.json`, what export writes and what
import reads (`LibraryFile`). A file is validated as a whole before anything is written, and
every invalid item is reported with a JSON pointer such as `#/prompts/12/depth`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path

import anyio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import FieldError, UnprocessableContent
from app.models.prompts import (
    LibraryStatus,
    Prompt,
    PromptLibrary,
    PromptVersion,
    PromptVersionStatus,
)
from app.schemas.libraries import LibraryFile
from app.services import audit
from app.services.audit import SYSTEM, Editor
from app.services.libraries import LibraryView, freeze, insert_library, slug_exists

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "libraries"
_MAX_ERRORS = 100


class InvalidLibraryFile(UnprocessableContent):
    slug = "invalid-library-file"
    title = "The library file is not valid"


def _pointer(location: Iterable[int | str]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return "#/" + "/".join(parts) if parts else "#"


def _document_order(pointer: str) -> list[tuple[int, int | str]]:
    """Sort key: `#/prompts/2` before `#/prompts/10`."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in pointer.split("/")[1:]]


def _duplicate_keys(document: object) -> list[FieldError]:
    """Repeated prompt keys, looked for even when other items are invalid."""
    prompts = document.get("prompts") if isinstance(document, dict) else None
    if not isinstance(prompts, list):
        return []
    first_seen: dict[str, int] = {}
    errors = []
    for index, item in enumerate(prompts):
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str):
            continue
        if key in first_seen:
            errors.append(
                FieldError(
                    pointer=f"#/prompts/{index}/key",
                    detail=f"repeats the key of #/prompts/{first_seen[key]}",
                )
            )
        else:
            first_seen[key] = index
    return errors


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
        # JSON mode: "2" is not a depth and "true" is not a flag, as in the request body.
        parsed = LibraryFile.model_validate_json(raw)
    except ValidationError as error:
        errors.extend(
            FieldError(
                pointer=_pointer(item["loc"]), detail=str(item["msg"]).removeprefix("Value error, ")
            )
            for item in error.errors(include_url=False)
        )
    errors.extend(_duplicate_keys(document))
    if errors or parsed is None:
        errors.sort(key=lambda e: _document_order(e.pointer or "#"))
        plural = "s" if len(errors) != 1 else ""
        raise InvalidLibraryFile(
            f"{prefix}{len(errors)} problem{plural} in the file, so nothing was written. "
            "Each error names its item with a JSON pointer.",
            errors=errors[:_MAX_ERRORS],
        )
    return parsed


def library_file(view: LibraryView) -> LibraryFile:
    """The working copy of a library, without the prompts removed from it."""
    library = view.library
    return LibraryFile.model_validate(
        {
            "slug": library.slug,
            "title": library.title,
            "description": library.description,
            "locale": library.locale,
            "stages": library.stages,
            "opt_in": library.opt_in,
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
                }
                for prompt, version in view.prompts
                if prompt.removed_at is None
            ],
        }
    )


def _read_files(directory: Path) -> list[tuple[str, bytes]]:
    return [(path.name, path.read_bytes()) for path in sorted(directory.glob("*.json"))]


async def _create_from_file(
    session: AsyncSession, editor: Editor, data: LibraryFile
) -> PromptLibrary:
    library = PromptLibrary(
        id=uuid.uuid4(),
        slug=data.slug,
        title=data.title,
        description=data.description,
        locale=data.locale,
        stages=[str(stage) for stage in data.stages],
        opt_in=data.opt_in,
        status=LibraryStatus.draft,
        created_by=editor.user_id,
    )
    await insert_library(session, library)
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
            text=item.text,
            category=item.category,
            depth=item.depth,
            kind=item.kind,
            listener_guidance=item.listener_guidance,
            tags=list(item.tags),
            locale=data.locale,
            stages=[str(stage) for stage in item.stages],
            sensitive=item.sensitive,
            created_by=editor.user_id,
        )
        for prompt, item in zip(prompts, data.prompts, strict=True)
    )
    await session.flush()
    return library


async def import_library(session: AsyncSession, editor: Editor, data: LibraryFile) -> PromptLibrary:
    """A new draft library with the file's prompts; a taken slug is a conflict."""
    library = await _create_from_file(session, editor, data)
    audit.record(
        session,
        editor,
        "library.imported",
        entity_type="library",
        entity_id=library.id,
        after={**audit.library_snapshot(library), "prompt_count": len(data.prompts)},
    )
    await session.flush()
    return library


async def seed_libraries(session: AsyncSession, directory: Path = CONTENT_DIR) -> dict[str, int]:
    """Load every library file of `directory` and publish it as version 1, by no one.

    A library whose slug exists is left as it is, whatever curators made of it since.
    """
    counts = {"libraries": 0, "libraries_unchanged": 0, "prompts": 0}
    for name, raw in await anyio.to_thread.run_sync(_read_files, directory):
        data = parse_library_file(raw, source=name)
        if await slug_exists(session, data.slug):
            counts["libraries_unchanged"] += 1
            continue
        library = await _create_from_file(session, SYSTEM, data)
        version = await freeze(session, SYSTEM, library)
        audit.record(
            session,
            SYSTEM,
            "library.seeded",
            entity_type="library",
            entity_id=library.id,
            after={**audit.library_snapshot(library), "prompt_count": version.prompt_count},
        )
        await session.flush()
        counts["libraries"] += 1
        counts["prompts"] += version.prompt_count
    return counts
