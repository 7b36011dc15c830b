"""Translations through a library's life cycle: carried to a prompt's new draft version,
marked stale when the words they translate change, put live by the library's publication.
Called by the library services, below them."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Member
from app.models.base import utcnow
from app.models.prompts import PromptTranslation, PromptVersion


async def carry_over(
    session: AsyncSession, previous: PromptVersion, new: PromptVersion, by: Member
) -> None:
    """Start a new draft version with the translations of the version it replaces: in each
    language the pending draft, else the live one unless it is being withdrawn."""
    rows = await session.scalars(
        select(PromptTranslation)
        .where(
            PromptTranslation.prompt_version_id == previous.id,
            PromptTranslation.withdrawing.is_(False),
        )
        .order_by(PromptTranslation.is_live.desc())
    )
    latest = {row.locale: row for row in rows}  # live first, so a draft overrides it
    session.add_all(
        PromptTranslation(
            prompt_version_id=new.id,
            library_id=new.library_id,
            locale=row.locale,
            text=row.text,
            listener_guidance=row.listener_guidance,
            is_live=False,
            stale=row.stale,
            created_by=by.user_id,
        )
        for row in latest.values()
    )
    await session.flush()


async def mark_stale(session: AsyncSession, version: PromptVersion) -> None:
    """The version's words changed: its draft translations translate the earlier ones."""
    await session.execute(
        update(PromptTranslation)
        .where(
            PromptTranslation.prompt_version_id == version.id,
            PromptTranslation.is_live.is_(False),
        )
        .values(stale=True)
        .execution_options(synchronize_session="fetch")
    )


_SLICE = 400


async def publish_drafts(session: AsyncSession, library_id: uuid.UUID) -> None:
    """Put the library's draft translations of live versions live, each replacing the live
    translation of its version and language; drafts of versions left behind are dropped, and
    stale ones (of earlier words) stay drafts: members read the version's own language. Live
    translations being withdrawn are taken down."""
    await session.execute(
        delete(PromptTranslation)
        .where(
            PromptTranslation.library_id == library_id,
            PromptTranslation.is_live.is_(True),
            PromptTranslation.withdrawing.is_(True),
        )
        .execution_options(synchronize_session="fetch")
    )
    drafts = list(
        await session.scalars(
            select(PromptTranslation).where(
                PromptTranslation.library_id == library_id, PromptTranslation.is_live.is_(False)
            )
        )
    )
    if not drafts:
        return
    live_ids = set(
        await session.scalars(
            select(PromptVersion.id).where(
                PromptVersion.library_id == library_id, PromptVersion.is_live.is_(True)
            )
        )
    )
    publishing = [d for d in drafts if d.prompt_version_id in live_ids and not d.stale]
    replaced = [(draft.prompt_version_id, draft.locale) for draft in publishing]
    # One statement per slice rather than one per draft: a library file publishes hundreds.
    for start in range(0, len(replaced), _SLICE):
        await session.execute(
            delete(PromptTranslation)
            .where(
                tuple_(PromptTranslation.prompt_version_id, PromptTranslation.locale).in_(
                    replaced[start : start + _SLICE]
                ),
                PromptTranslation.is_live.is_(True),
            )
            .execution_options(synchronize_session="fetch")
        )
    for draft in drafts:
        if draft.prompt_version_id not in live_ids:
            await session.delete(draft)
    await session.flush()
    now = utcnow()
    for draft in publishing:
        draft.is_live = True
        draft.published_at = now
    await session.flush()
