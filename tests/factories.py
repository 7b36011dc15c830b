"""Small async factories for domain data that tests arrange directly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.base import utcnow
from app.models.prompts import (
    Category,
    LibraryStatus,
    Prompt,
    PromptKind,
    PromptLibrary,
    PromptVersion,
    PromptVersionStatus,
)

# A balanced pool: every category at every depth, `per_cell` prompts each.
BALANCED = [(category, depth) for category in Category for depth in (1, 2, 3)]


async def publish_library(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    slug: str | None = None,
    prompts: Sequence[tuple[Category, int]] = BALANCED,
    per_cell: int = 1,
    locale: str = "en",
    stages: Sequence[str] = (),
    opt_in: bool = False,
    sensitive: bool = False,
) -> PromptLibrary:
    """A library published as version 1 with one live version per prompt."""
    slug = slug or f"library-{uuid.uuid4().hex[:8]}"
    async with sessionmaker() as session, session.begin():
        library = PromptLibrary(
            slug=slug,
            title=slug.title(),
            locale=locale,
            stages=list(stages),
            opt_in=opt_in,
            status=LibraryStatus.published,
            published_version=1,
        )
        session.add(library)
        await session.flush()
        number = 0
        for category, depth in prompts:
            for _ in range(per_cell):
                number += 1
                prompt = Prompt(library_id=library.id, key=f"{slug}-{number:03d}")
                session.add(prompt)
                await session.flush()
                session.add(
                    PromptVersion(
                        prompt_id=prompt.id,
                        library_id=library.id,
                        number=1,
                        status=PromptVersionStatus.published,
                        is_live=True,
                        library_version=1,
                        text=f"{category.value} prompt {number} at depth {depth}",
                        category=category,
                        depth=depth,
                        kind=PromptKind.activity
                        if category is Category.play
                        else PromptKind.question,
                        listener_guidance="Reflect back what you heard." if depth > 1 else None,
                        tags=[category.value],
                        locale=locale,
                        stages=[],
                        sensitive=sensitive,
                        published_at=utcnow(),
                    )
                )
        await session.flush()
    return library
