"""Everything a person answered, in every couple they were part of (their answer history)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import Preferences
from app.core.pagination import PageQuery, Window, paginate
from app.core.security import Member, Scope
from app.models.answers import Answer, DailyPrompt
from app.models.prompts import PromptVersion
from app.services.answers import require_scope
from app.services.wordings import Wording, wordings


@dataclass(frozen=True, slots=True)
class MyAnswer:
    answer: Answer
    day: DailyPrompt
    version: PromptVersion
    wording: Wording
    partner_answer: Answer | None


async def my_answers(
    session: AsyncSession, member: Member, params: PageQuery, wanted: Preferences = Preferences()
) -> Window[MyAnswer]:
    """Everything I answered, in every couple I was part of, newest first; my partner's
    answer only where both were revealed. Stays readable after a couple ends."""
    require_scope(member, Scope.answers_read)
    user_id = member.user_id
    window = await paginate(
        session,
        select(Answer).where(Answer.user_id == user_id),
        order=(Answer.created_at, Answer.id),
        params=params,
        descending=True,
    )
    if not window.items:
        return Window(items=[], next_cursor=window.next_cursor, has_more=window.has_more)
    day_ids = [a.daily_prompt_id for a in window.items]
    days = {
        d.id: d
        for d in await session.scalars(select(DailyPrompt).where(DailyPrompt.id.in_(day_ids)))
    }
    versions = {
        v.id: v
        for v in await session.scalars(
            select(PromptVersion).where(
                PromptVersion.id.in_({a.prompt_version_id for a in window.items})
            )
        )
    }
    partners = {
        a.daily_prompt_id: a
        for a in await session.scalars(
            select(Answer).where(
                Answer.daily_prompt_id.in_(day_ids),
                Answer.user_id != user_id,
                Answer.revealed_at.is_not(None),
            )
        )
    }
    texts = await wordings(session, list(versions.values()), wanted)
    items = [
        MyAnswer(
            answer=a,
            day=days[a.daily_prompt_id],
            version=versions[a.prompt_version_id],
            wording=texts[a.prompt_version_id],
            partner_answer=partners.get(a.daily_prompt_id) if a.revealed_at else None,
        )
        for a in window.items
    ]
    return Window(items=items, next_cursor=window.next_cursor, has_more=window.has_more)
