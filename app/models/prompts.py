"""Curated prompt libraries, their prompts, and the frozen versions members see.

A library's working copy is edited by curators; publishing freezes it as a numbered library
version. Each prompt keeps every text it ever had as `PromptVersion` rows: editing a published
prompt adds a draft version, so answers keep pointing at the exact text that was answered.
Members only ever see versions with `is_live` set, of libraries that are not archived.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class Category(StrEnum):
    """The five practices (DESIGN.md)."""

    listen = "listen"
    share = "share"
    play = "play"
    reflect = "reflect"
    repair = "repair"


class PromptKind(StrEnum):
    question = "question"
    activity = "activity"
    exercise = "exercise"


class LibraryStatus(StrEnum):
    draft = "draft"
    review = "review"
    published = "published"
    archived = "archived"


class PromptVersionStatus(StrEnum):
    draft = "draft"
    published = "published"


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class PromptLibrary(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "prompt_libraries"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(35))
    # Relationship stages the library suits; empty means every stage.
    stages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Opt-in libraries (e.g. "After a rupture") feed only couples that enable them.
    opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[LibraryStatus] = mapped_column(_enum(LibraryStatus), default=LibraryStatus.draft)
    # The number of the version members see; None until first published.
    published_version: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class LibraryVersion(UUIDPrimaryKey, Base):
    """One publication of a library: the version history."""

    __tablename__ = "prompt_library_versions"
    __table_args__ = (UniqueConstraint("library_id", "number"),)

    library_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_libraries.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    prompt_count: Mapped[int] = mapped_column(Integer, default=0)


class Prompt(UUIDPrimaryKey, Base):
    """A prompt's identity within its library; its wording lives in versions."""

    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("library_id", "key"),)

    library_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_libraries.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a curator removes the prompt; it leaves the library at the next publication.
    removed_at: Mapped[datetime | None] = mapped_column(default=None)


class PromptVersion(UUIDPrimaryKey, Base):
    __tablename__ = "prompt_versions"
    __table_args__ = (
        UniqueConstraint("prompt_id", "number"),
        Index("ix_prompt_versions_live", "is_live", "library_id"),
    )

    prompt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    # Denormalised from the prompt so member queries need no join to find a library's prompts.
    library_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_libraries.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[PromptVersionStatus] = mapped_column(
        _enum(PromptVersionStatus), default=PromptVersionStatus.draft
    )
    is_live: Mapped[bool] = mapped_column(Boolean, default=False)
    library_version: Mapped[int | None] = mapped_column(Integer, default=None)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(_enum(Category))
    depth: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PromptKind] = mapped_column(_enum(PromptKind), default=PromptKind.question)
    listener_guidance: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(35))
    stages: Mapped[list[str]] = mapped_column(JSON, default=list)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    published_at: Mapped[datetime | None] = mapped_column(default=None)
