"""The export archive's `activities` section: Time together, of every couple the person was
in (`exports_archive`'s streaming way).

The person's own marks, never the partner's (a mark is its author's alone). The couple's own
ideas and its matches as the API shows them while the couple lasts: every idea, the
person's review and, once both said theirs, the partner's. Of a past couple, only the
person's own part: the ideas they wrote, and their own reviews.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.activities import ActivityIdea, ActivityMark, ActivityMatch, ActivityReview
from app.models.couples import CoupleMember
from app.schemas import exports_archive as schema
from app.services.exports_stream import Sink, in_couple_now, rows, write_list


async def write_activities(session: AsyncSession, sink: Sink, user_id: uuid.UUID) -> None:
    sink.write(b'{"ideas":')
    await write_list(sink, _ideas(session, user_id))
    sink.write(b',"marks":')
    await write_list(sink, _marks(session, user_id))
    sink.write(b',"matches":')
    await write_list(sink, _matches(session, user_id))
    sink.write(b"}")


def _my_couples(user_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(CoupleMember.couple_id).where(CoupleMember.user_id == user_id)


async def _ideas(session: AsyncSession, user_id: uuid.UUID) -> AsyncIterator[BaseModel]:
    statement = select(ActivityIdea).where(ActivityIdea.couple_id.in_(_my_couples(user_id)))
    current: dict[uuid.UUID, bool] = {}
    async for idea in rows(session, statement, (ActivityIdea.created_at, ActivityIdea.id)):
        if idea.couple_id not in current:
            current[idea.couple_id] = await in_couple_now(session, user_id, idea.couple_id)
        if current[idea.couple_id] or idea.author_id == user_id:
            yield schema.ArchiveActivityIdea.model_validate(idea)


async def _marks(session: AsyncSession, user_id: uuid.UUID) -> AsyncIterator[BaseModel]:
    statement = select(ActivityMark).where(ActivityMark.user_id == user_id)
    async for mark in rows(session, statement, (ActivityMark.updated_at, ActivityMark.id)):
        yield schema.ArchiveActivityMark.model_validate(mark)


async def _matches(session: AsyncSession, user_id: uuid.UUID) -> AsyncIterator[BaseModel]:
    statement = select(ActivityMatch).where(ActivityMatch.couple_id.in_(_my_couples(user_id)))
    async for match in rows(session, statement, (ActivityMatch.matched_at, ActivityMatch.id)):
        current = await in_couple_now(session, user_id, match.couple_id)
        everyone = current and match.completed_at is not None
        reviews = select(ActivityReview).where(ActivityReview.match_id == match.id)
        if not everyone:
            reviews = reviews.where(ActivityReview.user_id == user_id)
        found = await session.scalars(reviews.order_by(ActivityReview.created_at))
        yield schema.ArchiveActivityMatch(
            id=match.id,
            couple_id=match.couple_id,
            idea_id=match.idea_id,
            source=match.source,
            matched_at=match.matched_at,
            planned_for=match.planned_for,
            planned_by=match.planned_by,
            completed_at=match.completed_at,
            reviews=[schema.ArchiveActivityReview.model_validate(r) for r in found],
        )
