"""Curating prompts in other languages: draft translations of a prompt's working version.
A translation belongs to one prompt version, the exact words it translates, and is curated
with the library: writing, removing or withdrawing one reopens the library like editing a
prompt, and its next publication (reviewed by someone else: four eyes) puts the drafts live
and takes the withdrawn live ones down (`translation_lifecycle`). When a prompt's wording
changes, its new draft version starts with the translations of the version it replaces,
marked stale until a curator writes them again. What readers see of them: `wordings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import language_of
from app.core.problems import FieldError, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.prompts import PromptTranslation, PromptVersion
from app.services import audit, curation
from app.services.libraries import KIND as LIBRARIES
from app.services.library_prompts import PromptRemoved, PromptView


class TranslationNotFound(NotFound):
    slug = "translation-not-found"
    title = "The prompt has no draft translation in this language"


class LiveTranslationNotFound(NotFound):
    slug = "live-translation-not-found"
    title = "The prompt has no live translation in this language"


class SameLanguage(UnprocessableContent):
    slug = "translation-same-language"
    title = "A translation must be in another language than the prompt"


@dataclass
class TranslationsView:
    version: PromptVersion
    """The prompt's working version: the one translated."""
    live: dict[str, PromptTranslation]
    drafts: dict[str, PromptTranslation]


async def translations_of(session: AsyncSession, view: PromptView) -> TranslationsView:
    """The working version's translations, live and drafted, by language."""
    working = view.working
    rows = await session.scalars(
        select(PromptTranslation)
        .where(PromptTranslation.prompt_version_id == working.id)
        .order_by(PromptTranslation.locale)
    )
    live: dict[str, PromptTranslation] = {}
    drafts: dict[str, PromptTranslation] = {}
    for row in rows:
        (live if row.is_live else drafts)[row.locale] = row
    return TranslationsView(version=working, live=live, drafts=drafts)


def _snapshot(view: PromptView, row: PromptTranslation) -> dict[str, object]:
    return {
        "key": view.prompt.key,
        "version_id": str(row.prompt_version_id),
        "locale": row.locale,
        "text": row.text,
        "listener_guidance": row.listener_guidance,
    }


def _check_language(view: PromptView, language: str) -> None:
    if language == language_of(view.working.locale):
        raise SameLanguage(
            f"The prompt is written in {view.working.locale!r}; translate it into another "
            "language.",
            errors=[FieldError(pointer="#/locale", detail="is the prompt's own language")],
        )


async def write_draft(
    session: AsyncSession,
    by: Member,
    view: PromptView,
    language: str,
    text: str,
    listener_guidance: str | None,
) -> TranslationsView:
    """Write (or rewrite) the draft translation of the working version into `language`; a
    stale one written again, even unchanged, is current again."""
    if view.prompt.removed_at is not None:
        raise PromptRemoved("A removed prompt cannot be translated.")
    _check_language(view, language)
    current = await translations_of(session, view)
    draft = current.drafts.get(language)
    same = draft is not None and (draft.text, draft.listener_guidance) == (text, listener_guidance)
    if same and draft is not None and not draft.stale:
        return current
    curation.open_for_edit(LIBRARIES, view.library)
    before = _snapshot(view, draft) if draft else None
    if draft is None:
        draft = PromptTranslation(
            prompt_version_id=current.version.id,
            library_id=view.library.id,
            locale=language,
            created_by=by.user_id,
            is_live=False,
        )
        session.add(draft)
        current.drafts[language] = draft
    draft.text = text
    draft.listener_guidance = listener_guidance
    draft.stale = False  # written again, even unchanged: a curator stands by it
    await session.flush()
    audit.record(
        session,
        by,
        "prompt.translated",
        entity_type="prompt",
        entity_id=view.prompt.id,
        before=before,
        after=_snapshot(view, draft),
    )
    await session.flush()
    return current


async def remove_draft(session: AsyncSession, by: Member, view: PromptView, language: str) -> None:
    """Drop the draft translation into `language`; the live one, if any, stays."""
    current = await translations_of(session, view)
    draft = current.drafts.get(language)
    if draft is None:
        raise TranslationNotFound(
            f"The prompt's working version has no draft translation into {language!r}."
        )
    curation.open_for_edit(LIBRARIES, view.library)
    before = _snapshot(view, draft)
    await session.delete(draft)
    await session.flush()
    audit.record(
        session,
        by,
        "prompt.translation_removed",
        entity_type="prompt",
        entity_id=view.prompt.id,
        before=before,
    )
    await session.flush()


async def withdraw_live(
    session: AsyncSession, by: Member, view: PromptView, language: str
) -> TranslationsView:
    """Take the live translation into `language` down at the library's next publication (and
    drop the draft in that language): members read the prompt's own language from then on."""
    current = await translations_of(session, view)
    live = current.live.get(language)
    if live is None:
        raise LiveTranslationNotFound(
            f"The prompt's working version has no live translation into {language!r}; a draft "
            "is removed with DELETE."
        )
    if live.withdrawing and language not in current.drafts:
        return current
    curation.open_for_edit(LIBRARIES, view.library)
    draft = current.drafts.pop(language, None)
    if draft is not None:
        await session.delete(draft)
    live.withdrawing = True
    await session.flush()
    audit.record(
        session,
        by,
        "prompt.translation_withdrawn",
        entity_type="prompt",
        entity_id=view.prompt.id,
        before=_snapshot(view, live),
    )
    await session.flush()
    return current
