"""Small async factories for domain data that tests arrange directly, or through HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
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
from tests.conftest import Person

COUPLE_READ, COUPLE_WRITE = "couple:read", "couple:write"
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


async def start_couple(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    """`person` starts a couple: the response holds its open invite."""
    response = await client.post("/v1/couples", headers=person.headers(COUPLE_READ, COUPLE_WRITE))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def pair(client: httpx.AsyncClient, first: Person, second: Person) -> dict[str, Any]:
    """`first` invites `second`, who joins: the couple as `second` sees it."""
    created = await start_couple(client, first)
    code = created["invite"]["code"]
    joined = await client.post(
        "/v1/couples/join", json={"code": code}, headers=second.headers(COUPLE_WRITE)
    )
    assert joined.status_code == 200, joined.text
    return joined.json()  # type: ignore[no-any-return]


DAILY_SCOPES = ("couple:read", "couple:write", "prompts:read", "answers:read", "answers:write")


async def answer(client: httpx.AsyncClient, person: Person, day: str, text: str) -> httpx.Response:
    """A partner's answer to the day's prompt, with the scopes the daily ritual needs."""
    return await client.put(
        f"/v1/couples/me/prompts/{day}/answer",
        json={"text": text},
        headers=person.headers(*DAILY_SCOPES),
    )
