"""Next week's commitments: small things each partner commits to in the ritual's last step,
then marks done (or not done after all) during the week.

A commitment's owner is the partner who made it, and only they mark it; the partner reads it
(once revealed, as the ritual's other words) and gets a 403 for trying. Marking stays open
until the couple's next ritual starts: that one's commitments take over.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Conflict, Forbidden, NotFound
from app.core.security import Member
from app.models.rituals import Ritual, RitualCommitment, RitualStep
from app.schemas.rituals import CommitmentIn
from app.services.repair_access import record_event
from app.services.ritual_schedule import WRITE, ritual_caller
from app.services.rituals import check_my_step, find_ritual


class CommitmentNotFound(NotFound):
    slug = "ritual-commitment-not-found"
    title = "Commitment not found"


class CommitmentNotYours(Forbidden):
    slug = "ritual-commitment-not-yours"
    title = "Only its owner marks a commitment"


class CommitmentWeekOver(Conflict):
    slug = "ritual-commitment-week-over"
    title = "The week of this commitment is over"


async def add_commitment(
    session: AsyncSession, me: Member, ritual_id: uuid.UUID, data: CommitmentIn, now: datetime
) -> RitualCommitment:
    caller = await ritual_caller(session, me, WRITE)
    ritual = await find_ritual(session, caller, ritual_id, for_change=True)
    check_my_step(ritual, caller, RitualStep.next_week)
    commitment = RitualCommitment(
        id=uuid.uuid4(),
        ritual_id=ritual.id,
        owner_id=caller.user_id,
        text=data.text,
        created_at=now,
        updated_at=now,
    )
    session.add(commitment)
    ritual.updated_at = now
    await session.flush()
    await record_event(
        session, "commitment.added", caller, ritual_id=ritual.id, commitment_id=commitment.id
    )
    return commitment


async def mark(
    session: AsyncSession, me: Member, commitment_id: uuid.UUID, done: bool, now: datetime
) -> RitualCommitment:
    """Done (`done`) or not done after all; the same twice changes nothing more."""
    caller = await ritual_caller(session, me, WRITE)
    found = (
        await session.execute(
            select(RitualCommitment, Ritual)
            .join(Ritual, Ritual.id == RitualCommitment.ritual_id)
            .where(RitualCommitment.id == commitment_id, Ritual.couple_id == caller.couple.id)
            .with_for_update(of=RitualCommitment)
        )
    ).first()
    if found is None:
        raise CommitmentNotFound("Your couple has no commitment with this id.")
    commitment, ritual = found
    if commitment.owner_id != caller.user_id:
        raise CommitmentNotYours("This is your partner's commitment: only they mark it.")
    later = await session.scalar(
        select(Ritual.id)
        .where(Ritual.couple_id == caller.couple.id, Ritual.week_of > ritual.week_of)
        .limit(1)
    )
    if later is not None:
        raise CommitmentWeekOver("Your couple's next ritual has started: this week is over.")
    if done == (commitment.done_at is not None):
        return commitment
    commitment.done_at = now if done else None
    commitment.updated_at = now
    await session.flush()
    await record_event(
        session,
        "commitment.done" if done else "commitment.undone",
        caller,
        ritual_id=ritual.id,
        commitment_id=commitment.id,
    )
    return commitment
