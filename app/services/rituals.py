"""Each week's ritual: starting it, writing in its steps, the issue, finishing and ending it.

The rules are `app.services.ritual_rules` (pure); this module stores what they decide. A
change locks the ritual's row (`SELECT ... FOR UPDATE` on PostgreSQL), so two partners'
changes at once queue and the second sees the first. "Now" is the couple's (a test clock's
outside production, through the `Now` dependency). Who reaches a ritual: as its schedule
(`app.services.ritual_schedule.ritual_caller`). Events carry ids and step names, never words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, NotFound
from app.core.security import Member
from app.models.conversations import Conversation
from app.models.rituals import Ritual, RitualCommitment, RitualEntry, RitualStatus, RitualStep
from app.schemas.conversations import ConversationCreate, FirstSpeaker
from app.schemas.rituals import EntryIn, IssueIn, PartnerProgress
from app.services import conversations
from app.services.repair_access import Caller, couple_row, record_event
from app.services.ritual_rules import (
    STEPS,
    WRITTEN,
    StepOutOfOrder,
    check_step,
    complete,
    current_step,
    finish,
    revealed,
    week_of,
)
from app.services.ritual_schedule import READ, WRITE, require_schedule, ritual_caller


class RitualNotFound(NotFound):
    slug = "ritual-not-found"
    title = "Ritual not found"


class RitualNeedsPartner(Conflict):
    slug = "ritual-needs-partner"
    title = "A weekly ritual needs both partners"


class RitualAlreadyStarted(Conflict):
    slug = "ritual-already-started"
    title = "This week's ritual has started already"


class RitualClosed(Conflict):
    slug = "ritual-closed"
    title = "The ritual is over"


class RitualStepOutOfOrder(Conflict):
    slug = "ritual-step-out-of-order"
    title = "This is not your current step"


@dataclass
class RitualView:
    """A ritual as one partner reads it."""

    ritual: Ritual
    my_step: RitualStep | None
    partners: list[PartnerProgress]
    entries: list[RitualEntry]
    commitments: list[RitualCommitment]


def members_of(caller: Caller) -> list[str]:
    return [str(person) for person in (caller.user_id, caller.partner_id) if person is not None]


def out_of_order(refused: StepOutOfOrder) -> RitualStepOutOfOrder:
    current = refused.current.value if refused.current is not None else None
    return RitualStepOutOfOrder(
        f"You are not on `{refused.step.value}`"
        + (f"; your current step is `{current}`." if current else "; you finished every step."),
        current_step=current,
    )


def require_open(ritual: Ritual) -> None:
    if ritual.status is not RitualStatus.open:
        raise RitualClosed(f"This ritual is {ritual.status.value}: nothing more can be added.")


def check_my_step(ritual: Ritual, caller: Caller, step: RitualStep) -> None:
    require_open(ritual)
    try:
        check_step(ritual.progress.get(str(caller.user_id), 0), step)
    except StepOutOfOrder as refused:
        raise out_of_order(refused) from None


async def find_ritual(
    session: AsyncSession, caller: Caller, ritual_id: uuid.UUID, *, for_change: bool
) -> Ritual:
    missing = RitualNotFound("Your couple has no ritual with this id.")
    return await couple_row(
        session, Ritual, caller, ritual_id, for_change=for_change, missing=missing
    )


async def build_view(session: AsyncSession, caller: Caller, ritual: Ritual) -> RitualView:
    members = members_of(caller)
    closed = ritual.status is not RitualStatus.open
    entries = list(
        await session.scalars(
            select(RitualEntry)
            .where(RitualEntry.ritual_id == ritual.id)
            .order_by(RitualEntry.created_at, RitualEntry.id)
        )
    )
    commitments = list(
        await session.scalars(
            select(RitualCommitment)
            .where(RitualCommitment.ritual_id == ritual.id)
            .order_by(RitualCommitment.created_at, RitualCommitment.id)
        )
    )
    progress = ritual.progress or {}

    def shown(author: uuid.UUID, step: RitualStep) -> bool:
        return author == caller.user_id or revealed(step, progress, members, closed)

    partners = []
    for person in members:
        count = progress.get(person, 0)
        written = {
            step: sum(1 for e in entries if str(e.author_id) == person and e.step is step)
            for step in WRITTEN
        }
        written[RitualStep.next_week] = sum(1 for c in commitments if str(c.owner_id) == person)
        partners.append(
            PartnerProgress(
                user_id=uuid.UUID(person),
                finished_steps=list(STEPS[:count]),
                current_step=None if closed else current_step(count),
                written=written,
            )
        )
    mine = progress.get(str(caller.user_id), 0)
    return RitualView(
        ritual=ritual,
        my_step=None if closed else current_step(mine),
        partners=partners,
        entries=[e for e in entries if shown(e.author_id, e.step)],
        commitments=[c for c in commitments if shown(c.owner_id, RitualStep.next_week)],
    )


async def get_ritual(session: AsyncSession, me: Member, ritual_id: uuid.UUID) -> RitualView:
    caller = await ritual_caller(session, me, READ)
    ritual = await find_ritual(session, caller, ritual_id, for_change=False)
    return await build_view(session, caller, ritual)


async def list_rituals(
    session: AsyncSession, me: Member, params: PageQuery
) -> tuple[Caller, Window[Ritual]]:
    """The couple's rituals, newest week first."""
    caller = await ritual_caller(session, me, READ)
    window = await paginate(
        session,
        select(Ritual).where(Ritual.couple_id == caller.couple.id),
        order=(Ritual.week_of, Ritual.id),
        params=params,
        descending=True,
    )
    return caller, window


async def start_ritual(session: AsyncSession, me: Member, now: datetime) -> RitualView:
    """This week's ritual: the week that began on the latest scheduled day."""
    caller = await ritual_caller(session, me, WRITE)
    if caller.partner_id is None:
        raise RitualNeedsPartner("Your partner needs to join your couple first.")
    schedule = await require_schedule(session, caller)
    week = week_of(now, schedule.weekday, ZoneInfo(caller.couple.timezone))
    existing = await session.scalar(
        select(Ritual.id).where(Ritual.couple_id == caller.couple.id, Ritual.week_of == week)
    )
    already = RitualAlreadyStarted(
        f"The ritual of the week of {week.isoformat()} exists already.",
        ritual_id=str(existing) if existing else None,
    )
    if existing is not None:
        raise already
    ritual = Ritual(
        id=uuid.uuid4(),
        couple_id=caller.couple.id,
        week_of=week,
        started_by=caller.user_id,
        status=RitualStatus.open,
        progress={person: 0 for person in members_of(caller)},
        issue_done=False,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(ritual)
            await session.flush()
    except IntegrityError:  # the partner started it at the same moment
        raise already from None
    await record_event(
        session, "ritual.started", caller, ritual_id=ritual.id, week_of=week.isoformat()
    )
    return await build_view(session, caller, ritual)


async def add_entry(
    session: AsyncSession, me: Member, ritual_id: uuid.UUID, data: EntryIn, now: datetime
) -> RitualView:
    caller = await ritual_caller(session, me, WRITE)
    ritual = await find_ritual(session, caller, ritual_id, for_change=True)
    check_my_step(ritual, caller, data.step)
    session.add(
        RitualEntry(
            ritual_id=ritual.id,
            author_id=caller.user_id,
            step=data.step,
            text=data.text,
            created_at=now,
        )
    )
    ritual.updated_at = now
    await session.flush()
    return await build_view(session, caller, ritual)


async def _advance(
    session: AsyncSession, caller: Caller, ritual: Ritual, step: RitualStep, now: datetime
) -> None:
    try:
        progress, issue_done = finish(
            ritual.progress or {}, ritual.issue_done, str(caller.user_id), step
        )
    except StepOutOfOrder as refused:
        raise out_of_order(refused) from None
    ritual.progress, ritual.issue_done = progress, issue_done
    ritual.updated_at = now
    await session.flush()
    await record_event(
        session,
        "ritual.step_finished",
        caller,
        ritual_id=ritual.id,
        step=step.value,
        conversation_id=ritual.conversation_id if step is RitualStep.issue else None,
    )
    if complete(progress, members_of(caller)):
        ritual.status, ritual.completed_at = RitualStatus.completed, now
        await session.flush()
        await record_event(session, "ritual.completed", caller, ritual_id=ritual.id)


class StepNeedsWords(Conflict):
    slug = "ritual-step-needs-words"
    title = "Write something in this step first"


async def finish_step(
    session: AsyncSession, me: Member, ritual_id: uuid.UUID, step: RitualStep, now: datetime
) -> RitualView:
    """Finish `appreciations` or `went_well` (after one entry at least) or `next_week` (no
    commitment is fine); the issue is finished through `set_issue`."""
    caller = await ritual_caller(session, me, WRITE)
    ritual = await find_ritual(session, caller, ritual_id, for_change=True)
    check_my_step(ritual, caller, step)
    if step is RitualStep.issue:
        raise RitualStepOutOfOrder(
            "The issue is finished by linking a conversation or skipping it (`PUT .../issue`).",
            current_step=step.value,
        )
    if step in WRITTEN:
        mine = await session.scalar(
            select(func.count(RitualEntry.id)).where(
                RitualEntry.ritual_id == ritual.id,
                RitualEntry.author_id == caller.user_id,
                RitualEntry.step == step,
            )
        )
        if not mine:
            raise StepNeedsWords(f"Write at least one entry in `{step.value}` first.")
    await _advance(session, caller, ritual, step, now)
    return await build_view(session, caller, ritual)


async def set_issue(
    session: AsyncSession, me: Member, ritual_id: uuid.UUID, data: IssueIn, now: datetime
) -> RitualView:
    """The couple's issue this week: a new speaker-listener conversation (the default), one
    of the couple's attached, or none (`skip`). Done once, for both partners."""
    caller = await ritual_caller(session, me, WRITE)
    ritual = await find_ritual(session, caller, ritual_id, for_change=True)
    check_my_step(ritual, caller, RitualStep.issue)
    if data.conversation_id is not None:
        found = await session.scalar(
            select(Conversation.id).where(
                Conversation.id == data.conversation_id,
                Conversation.couple_id == caller.couple.id,
            )
        )
        if found is None:
            raise conversations.ConversationNotFound(
                "Your couple has no conversation with this id."
            )
        ritual.conversation_id = found
    elif not data.skip:
        started = await conversations.start(
            session,
            me,
            ConversationCreate(
                topic=data.topic, first_speaker=data.first_speaker or FirstSpeaker.me
            ),
            now,
        )
        ritual.conversation_id = started.conversation.id
    await _advance(session, caller, ritual, RitualStep.issue, now)
    return await build_view(session, caller, ritual)


async def end_ritual(
    session: AsyncSession, me: Member, ritual_id: uuid.UUID, now: datetime
) -> RitualView:
    """Either partner ends it before both finished: what was written is revealed to both."""
    caller = await ritual_caller(session, me, WRITE)
    ritual = await find_ritual(session, caller, ritual_id, for_change=True)
    require_open(ritual)
    ritual.status, ritual.ended_at, ritual.updated_at = RitualStatus.ended, now, now
    await session.flush()
    await record_event(session, "ritual.ended", caller, ritual_id=ritual.id)
    return await build_view(session, caller, ritual)
