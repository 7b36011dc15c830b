"""The columns every kind of curated content shares (prompt libraries, repair templates).

`CuratedContent` is the working copy curators edit; `PublishedVersion` is one publication,
frozen: members see a published version's details, never the working copy's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.models.base import Timestamps, UUIDPrimaryKey, utcnow


def enum_column(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class CuratedContent(UUIDPrimaryKey, Timestamps):
    """A working copy; `status_type` names its life-cycle enum (one per kind, for the API)."""

    status_type: ClassVar[type[StrEnum]]

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(35))
    # The number of the version members see; None until first published.
    published_version: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Its words in other languages, by language: the title, the description and what the
    # kind adds (a template's phases); published with the rest.
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)

    @declared_attr
    def status(cls) -> Mapped[StrEnum]:
        return mapped_column(enum_column(cls.status_type), default=cls.status_type("draft"))


class PublishedVersion(UUIDPrimaryKey):
    """One publication: the details members see until the next one."""

    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(35))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
