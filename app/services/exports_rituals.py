"""The export archive's `rituals` section: the weekly rituals of every couple the person was
in, each written with its entries and commitments (`exports_conversations`' way).

While the couple lasts, what the person reads through the API: their own words, and the
partner's once revealed (`ritual_rules.revealed`); once it ended, only their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.couples import CoupleMember
from app.models.rituals import Ritual, RitualCommitment, RitualEntry, RitualStatus, RitualStep
from app.schemas import exports_archive as schema
from app.services.exports_stream import Sink, in_couple_now, rows, write_list
from app.services.ritual_rules import revealed

Shown = Callable[[uuid.UUID, RitualStep], bool]


async def write_rituals(session: AsyncSession, sink: Sink, user_id: uuid.UUID) -> None:
    my_couples = select(CoupleMember.couple_id).where(CoupleMember.user_id == user_id)
    statement = select(Ritual).where(Ritual.couple_id.in_(my_couples))
    sink.write(b"[")
    first = True
    async for ritual in rows(session, statement, (Ritual.week_of, Ritual.id)):
        current = await in_couple_now(session, user_id, ritual.couple_id)
        members = list(
            await session.scalars(
                select(CoupleMember.user_id).where(
                    CoupleMember.couple_id == ritual.couple_id,
                    CoupleMember.active_user_id.is_not(None),
                )
            )
        )
        shown = _rule(ritual, user_id, [str(m) for m in members], current=current)

        header = schema.ArchiveRitual(
            id=ritual.id,
            couple_id=ritual.couple_id,
            week_of=ritual.week_of,
            status=ritual.status,
            started_by=ritual.started_by,
            issue_done=ritual.issue_done,
            conversation_id=ritual.conversation_id,
            completed_at=ritual.completed_at,
            ended_at=ritual.ended_at,
            created_at=ritual.created_at,
            updated_at=ritual.updated_at,
            entries=[],
            commitments=[],
        )
        text = header.model_dump_json(exclude={"entries", "commitments"})
        sink.write((b"" if first else b",") + text[:-1].encode() + b',"entries":')
        first = False
        await write_list(sink, _entries(session, ritual.id, shown))
        sink.write(b',"commitments":')
        await write_list(sink, _commitments(session, ritual.id, shown))
        sink.write(b"}")
    sink.write(b"]")


def _rule(ritual: Ritual, user_id: uuid.UUID, members: list[str], *, current: bool) -> Shown:
    closed = ritual.status is not RitualStatus.open
    progress = dict(ritual.progress or {})

    def shown(author: uuid.UUID, step: RitualStep) -> bool:
        if author == user_id:
            return True
        return current and revealed(step, progress, members, closed)

    return shown


async def _entries(
    session: AsyncSession, ritual_id: uuid.UUID, shown: Shown
) -> AsyncIterator[BaseModel]:
    statement = select(RitualEntry).where(RitualEntry.ritual_id == ritual_id)
    async for entry in rows(session, statement, (RitualEntry.created_at, RitualEntry.id)):
        if shown(entry.author_id, entry.step):
            yield schema.ArchiveRitualEntry.model_validate(entry)


async def _commitments(
    session: AsyncSession, ritual_id: uuid.UUID, shown: Shown
) -> AsyncIterator[BaseModel]:
    statement = select(RitualCommitment).where(RitualCommitment.ritual_id == ritual_id)
    order = (RitualCommitment.created_at, RitualCommitment.id)
    async for commitment in rows(session, statement, order):
        if shown(commitment.owner_id, RitualStep.next_week):
            yield schema.ArchiveRitualCommitment.model_validate(commitment)
