"""What importing curated content from JSON files shares, whatever its kind: every problem of
a file named by a JSON pointer (such as `#/prompts/12/depth`), in document order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pydantic import ValidationError

from app.core.problems import FieldError

MAX_ERRORS: Final = 100


def pointer(location: Iterable[int | str]) -> str:
    """RFC 6901: `("prompts", 12, "depth")` → `#/prompts/12/depth`."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return "#/" + "/".join(parts) if parts else "#"


def _document_order(error: FieldError) -> list[tuple[int, int | str]]:
    """Sort key: `#/prompts/2` before `#/prompts/10`."""
    parts = (error.pointer or "#").split("/")[1:]
    return [(0, int(part)) if part.isdigit() else (1, part) for part in parts]


def field_errors(error: ValidationError) -> list[FieldError]:
    return [
        FieldError(
            pointer=pointer(item["loc"]), detail=str(item["msg"]).removeprefix("Value error, ")
        )
        for item in error.errors(include_url=False)
    ]


def repeated(items: object, name: str, at: str) -> list[FieldError]:
    """The items of a JSON list (`items`, as parsed) whose `name` repeats an earlier item's,
    pointed at as `{at}/{index}/{name}`: looked for even when other items are invalid."""
    first_seen: dict[str, int] = {}
    errors = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        value = item.get(name) if isinstance(item, dict) else None
        if not isinstance(value, str):
            continue
        if value in first_seen:
            detail = f"repeats the {name} of {at}/{first_seen[value]}"
            errors.append(FieldError(pointer=f"{at}/{index}/{name}", detail=detail))
        else:
            first_seen[value] = index
    return errors


def in_document_order(errors: list[FieldError]) -> list[FieldError]:
    """The first `MAX_ERRORS` of them, in the order they stand in the file."""
    return sorted(errors, key=_document_order)[:MAX_ERRORS]
