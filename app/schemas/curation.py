"""Field types and request shapes every kind of curated content shares."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SLUG_PATTERN: Final = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SLUG: Final = re.compile(SLUG_PATTERN)


def unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("must be a lowercase slug: letters a-z, digits and single dashes")
    return value


Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        examples=["first-months"],
        json_schema_extra={"pattern": SLUG_PATTERN},
    ),
    AfterValidator(check_slug),
]
# At least one character that is not white space by either JSON Schema's rules or Python's
# (which strips the information separators and NEL too): a title of spaces alone is refused,
# and the schema says so.
NOT_BLANK = r"[^\s\x1c-\x1f\x85\uFEFF]"
Title = Annotated[str, Field(min_length=1, max_length=120, pattern=NOT_BLANK)]
Description = Annotated[str, Field(max_length=2000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CommentRequest(Input):
    comment: str | None = Field(
        default=None, max_length=2000, description="Why it goes back, for the curator."
    )
