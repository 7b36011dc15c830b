"""An installation seeded before the starter translations shipped gets them on its next seed,
for the words that are still as shipped; words curators changed since are left to them."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import (
    AuditEntry,
    LibraryVersion,
    PromptLibrary,
    PromptTranslation,
    PromptVersion,
    RepairTemplate,
    RepairTemplateVersion,
)
from app.services.seed import seed
from tests.conftest import MakeUser, Person

READ = "prompts:read"


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session, session.begin():
        return await seed(session)


async def _as_before_translations(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    """Strip every translation, as an installation of the last release has it, and change one
    live prompt's words as a curator would have; that prompt's id."""
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(PromptTranslation))
        await session.execute(update(PromptLibrary).values(translations={}))
        await session.execute(update(LibraryVersion).values(translations={}))
        changed = await session.scalar(
            select(PromptVersion).where(PromptVersion.is_live.is_(True)).limit(1)
        )
        assert changed is not None
        changed.text = "Our curators' own words."
        return str(changed.prompt_id)


async def _prompts(client: httpx.AsyncClient, person: Person, language: str) -> list[Any]:
    """Every published prompt, read in `language`."""
    headers = {**person.headers(READ), "Accept-Language": language}
    found: list[Any] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        response = await client.get("/v1/prompts", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        if not page["has_more"]:
            return found
        params["cursor"] = page["next_cursor"]


async def test_the_next_seed_brings_the_translations_of_untouched_words(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> None:
    await _seed(sessionmaker)
    changed = await _as_before_translations(sessionmaker)
    member = await make_user()
    assert all(p["fallback"] for p in await _prompts(client, member, "de"))
    await db.commit()

    counts = await _seed(sessionmaker)
    live = await db.scalar(
        select(func.count()).select_from(PromptVersion).where(PromptVersion.is_live.is_(True))
    )
    assert live is not None
    # Both languages, for every live prompt but the one whose words changed.
    assert counts["translations_added"] == 2 * (live - 1)
    for language in ("de", "es"):
        shown = {p["prompt_id"]: p for p in await _prompts(client, member, language)}
        assert shown[changed]["fallback"] is True
        assert shown[changed]["text"] == "Our curators' own words."
        others = [p for prompt_id, p in shown.items() if prompt_id != changed]
        assert others and all(p["locale"] == language and not p["fallback"] for p in others)
    headers = {**member.headers(READ), "Accept-Language": "es"}
    libraries = (await client.get("/v1/libraries", headers=headers)).json()["data"]
    assert libraries and all(x["locale"] == "es" and not x["fallback"] for x in libraries)

    # The content's history says so, once per library; once there, nothing more is added.
    recorded = (
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "library.translations_seeded")
    )
    assert await db.scalar(recorded) == len(libraries)
    await db.commit()
    assert (await _seed(sessionmaker))["translations_added"] == 0
    assert await db.scalar(recorded) == len(libraries)


async def test_repair_templates_get_theirs_too_unless_reworded(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> None:
    await _seed(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(RepairTemplate).values(translations={}))
        await session.execute(update(RepairTemplateVersion).values(translations={}))
        reworded = await session.scalar(select(RepairTemplate).order_by(RepairTemplate.slug))
        assert reworded is not None
        await session.execute(
            update(RepairTemplateVersion)
            .where(RepairTemplateVersion.template_id == reworded.id)
            .values(title="Our curators' own title")
        )
        reworded.title = "Our curators' own title"
        slug = reworded.slug
    counts = await _seed(sessionmaker)
    member = await make_user()
    headers = {**member.headers("repair:read"), "Accept-Language": "de"}
    shown = (await client.get("/v1/repair-templates", headers=headers)).json()["data"]
    assert len(shown) >= 2
    assert counts["repair_template_translations_added"] == 2 * (len(shown) - 1)
    for template in shown:
        if template["slug"] == slug:
            assert template["fallback"] is True
            assert template["title"] == "Our curators' own title"
        else:
            assert template["locale"] == "de" and template["fallback"] is False
    again = await _seed(sessionmaker)
    assert again["repair_template_translations_added"] == 0
    recorded = await db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "repair_template.translations_seeded")
    )
    assert recorded == len(shown) - 1
