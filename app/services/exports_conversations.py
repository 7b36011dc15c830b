"""The export archive's `conversations` section: the speaker-listener conversations of every
couple the person was in, each written with its turns streamed (`exports_archive`'s way).

While the couple lasts, both partners read every turn through the API, so the archive holds
them all; once it ended, only the person's own part: the turns they made, and the topic if
they wrote it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.conversations import Conversation, ConversationTurn
from app.models.couples import CoupleMember
from app.schemas import exports_archive as schema
from app.services.exports_stream import Sink, in_couple_now, rows, write_list


async def write_conversations(session: AsyncSession, sink: Sink, user_id: uuid.UUID) -> None:
    my_couples = select(CoupleMember.couple_id).where(CoupleMember.user_id == user_id)
    statement = select(Conversation).where(Conversation.couple_id.in_(my_couples))
    sink.write(b"[")
    first = True
    order = (Conversation.created_at, Conversation.id)
    async for conversation in rows(session, statement, order):
        current = await in_couple_now(session, user_id, conversation.couple_id)
        header = schema.ArchiveConversation(
            id=conversation.id,
            couple_id=conversation.couple_id,
            topic=conversation.topic if current or conversation.started_by == user_id else None,
            prompt_id=conversation.prompt_id,
            started_by=conversation.started_by,
            phase=conversation.phase,
            speaker_id=conversation.speaker_id,
            listener_id=conversation.listener_id,
            paused=conversation.paused,
            ended_at=conversation.ended_at,
            appreciated_by=[uuid.UUID(value) for value in conversation.appreciated_by],
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            turns=[],
        )
        text = header.model_dump_json(exclude={"turns"})
        sink.write((b"" if first else b",") + text[:-1].encode() + b',"turns":')
        first = False
        await write_list(sink, _turns(session, conversation.id, user_id, everyone=current))
        sink.write(b"}")
    sink.write(b"]")


async def _turns(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, *, everyone: bool
) -> AsyncIterator[BaseModel]:
    statement = select(ConversationTurn).where(ConversationTurn.conversation_id == conversation_id)
    if not everyone:
        statement = statement.where(ConversationTurn.author_id == user_id)
    async for turn in rows(session, statement, (ConversationTurn.seq, ConversationTurn.id)):
        yield schema.ArchiveTurn.model_validate(turn)
