"""Curated prompt libraries, their prompts, and the frozen versions members see.

A library's working copy is edited by curators; publishing freezes it, its title,
description, locale and stages included, as a numbered library version. Each prompt keeps
every text it ever had as `PromptVersion` rows: editing a published prompt adds a draft
version, so answers keep pointing at the exact text that was answered. Members only ever see
versions with `is_live` set, of libraries that are not archived, and a library's details as
its published version has them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UUIDPrimaryKey, utcnow
from app.models.curation import CuratedContent, PublishedVersion, enum_column


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
    # The editorial life cycle of `app.services.curation`.
    draft = "draft"
    review = "review"
    published = "published"
    archived = "archived"


class PromptVersionStatus(StrEnum):
    draft = "draft"
    published = "published"


class PromptLibrary(CuratedContent, Base):
    __tablename__ = "prompt_libraries"
    status_type = LibraryStatus

    # Relationship stages the library suits; empty means every stage.
    stages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Opt-in libraries (e.g. "After a rupture") feed only couples that enable them. A feed
    # setting rather than wording, so it applies at once, unlike the published details.
    opt_in: Mapped[bool] = mapped_column(Boolean, default=False)


class LibraryVersion(PublishedVersion, Base):
    """One publication of a library: its details as members see them, the version history."""

    __tablename__ = "prompt_library_versions"
    __table_args__ = (UniqueConstraint("library_id", "number"),)

    library_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_libraries.id", ondelete="CASCADE")
    )
    stages: Mapped[list[str]] = mapped_column(JSON, default=list)
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
        enum_column(PromptVersionStatus), default=PromptVersionStatus.draft
    )
    is_live: Mapped[bool] = mapped_column(Boolean, default=False)
    library_version: Mapped[int | None] = mapped_column(Integer, default=None)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(enum_column(Category))
    depth: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PromptKind] = mapped_column(enum_column(PromptKind), default=PromptKind.question)
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


class PromptTranslation(UUIDPrimaryKey, Base):
    """A prompt version's wording in another language, curated like the version itself.

    It belongs to the exact version it translates, so an answer's day shows the translation
    of the words that were answered. A draft (`is_live` unset) goes live when the library is
    next published, replacing the live translation of the same version and locale.
    """

    __tablename__ = "prompt_translations"
    __table_args__ = (
        UniqueConstraint("prompt_version_id", "locale", "is_live"),
        Index("ix_prompt_translations_library", "library_id", "is_live"),
    )

    prompt_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_versions.id", ondelete="CASCADE")
    )
    library_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_libraries.id", ondelete="CASCADE")
    )
    locale: Mapped[str] = mapped_column(String(35))
    text: Mapped[str] = mapped_column(Text)
    listener_guidance: Mapped[str | None] = mapped_column(Text, default=None)
    is_live: Mapped[bool] = mapped_column(Boolean, default=False)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    """A draft that translates earlier words: the version's text or guidance changed since it
    was written. It does not go live until a curator writes it again."""
    withdrawing: Mapped[bool] = mapped_column(Boolean, default=False)
    """A live translation the library's next publication takes down."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    published_at: Mapped[datetime | None] = mapped_column(default=None)
