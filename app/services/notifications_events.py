"""Event-driven pushes: read settled events past a stored mark (`push_dispatch_state`, an
`(xid, seq)` position, as the webhook fan-out does: see `app.core.events`) and queue the
pushes they call for, in one transaction with the mark's move.

- `answer.submitted`: "your partner answered" to the author's partner, unless the day is
  revealed by then (the reveal's own push says it);
- `answer.revealed`: "answers revealed" to the partner who answered first (the one whose
  answer revealed both is looking at them already);
- `checkin.shared`: "your partner shared a check-in" to the author's partner, if it is
  still shared with them;
- `conversation.started`, `conversation.moved`: "it's your turn" to the author's partner,
  if the move is still the conversation's latest and left them a turn to take (a share to
  paraphrase, a paraphrase to confirm or correct, the floor to take): a pause, or a move
  after which the author goes on, pushes nothing.

Each is checked when the event is read: a partner who left the couple meanwhile gets
nothing; and each recipient must pass the consent rule (`visibility.can_see`) for the event,
as the webhook fan-out and the sync feed do.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from app.core.event_marks import events_past, lock_mark, move_mark
from app.core.security import Scope
from app.models.answers import DailyPrompt
from app.models.checkins import CheckIn, Visibility
from app.models.conversations import Conversation, Move
from app.models.events import Event
from app.models.push import NotificationKind, PushDispatchState
from app.services.clients import FIRST_PARTY_CLIENT_ID
from app.services.conversations import moves_for
from app.services.notifications import active_partner, queue
from app.services.visibility import Facts, Viewer, can_see
from app.services.visibility_facts import load_facts

EVERY_SCOPE = frozenset(scope.value for scope in Scope)
TYPES = (
    "answer.submitted",
    "answer.revealed",
    "checkin.shared",
    "conversation.started",
    "conversation.moved",
)
TURN_MOVES = frozenset({Move.share, Move.paraphrase, Move.confirm, Move.correct, Move.pass_floor})
"""Moves that are someone's turn (not a pause, a resumption, an end or an appreciation)."""


async def push_events(session: AsyncSession, now: datetime, limit: int) -> int:
    """Queue the pushes owed for events past the mark; the number of events read.

    Runs inside the caller's transaction, which must commit for the mark to move."""
    mark = await lock_mark(session, PushDispatchState)
    taken = await events_past(session, mark, limit)
    relevant = [event for event in taken if event.type in TYPES]
    if relevant:
        facts = await load_facts(session, relevant, clients={FIRST_PARTY_CLIENT_ID})
        for event in relevant:
            await _push_for(session, event, now, facts)
    move_mark(mark, taken)
    return len(taken)


async def _revealer(
    session: AsyncSession, event: Event, day_id: uuid.UUID | None
) -> uuid.UUID | None:
    """Who answered second: the `answer.submitted` written just before the reveal."""
    submitted = await session.scalars(
        select(Event)
        .where(
            Event.type == "answer.submitted",
            Event.couple_id == event.couple_id,
            Event.seq < event.seq,
        )
        .order_by(Event.seq.desc())
        .limit(10)
    )
    for candidate in submitted:
        if _id(candidate, "daily_prompt_id") == day_id:
            return candidate.user_id
    return None


def _id(event: Event, name: str) -> uuid.UUID | None:
    value = (event.data or {}).get(name)
    return uuid.UUID(value) if isinstance(value, str) else None


def _may_see(person: uuid.UUID, event: Event, facts: Facts) -> bool:
    """The consent rule, asked like every other path: could this person read what the event
    is about, through Rapport's own app, right now?"""
    viewer = Viewer(FIRST_PARTY_CLIENT_ID, person, EVERY_SCOPE, first_party=True)
    return can_see(viewer, event, facts)


async def _push_for(session: AsyncSession, event: Event, now: datetime, facts: Facts) -> None:
    key = f"event:{event.id}"
    couple = event.couple_id
    if event.type == "answer.submitted":
        day_id = _id(event, "daily_prompt_id")
        day = await session.get(DailyPrompt, day_id) if day_id else None
        partner = await active_partner(session, couple, event.user_id)
        if day is None or day.revealed_at is not None or partner is None:
            return
        if not _may_see(partner, event, facts):
            return
        data = {"couple_id": str(couple), "daily_prompt_id": str(day.id)}
        await queue(session, partner, NotificationKind.partner_answered, key, data, now)
    elif event.type == "answer.revealed":
        day_id = _id(event, "daily_prompt_id")
        revealer = await _revealer(session, event, day_id)
        first = await active_partner(session, couple, revealer)
        if day_id is None or first is None or not _may_see(first, event, facts):
            return  # the one whose answer revealed both is looking at them: only the other
        data = {"couple_id": str(couple), "daily_prompt_id": str(day_id)}
        await queue(session, first, NotificationKind.answers_revealed, key, data, now)
    elif event.type == "checkin.shared":
        checkin_id = _id(event, "checkin_id")
        checkin = await session.get(CheckIn, checkin_id) if checkin_id else None
        if checkin is None or checkin.visibility is not Visibility.partner:
            return
        partner = await active_partner(session, checkin.couple_id, checkin.user_id)
        if partner is None or not _may_see(partner, event, facts):
            return
        data = {"checkin_id": str(checkin.id)}
        await queue(session, partner, NotificationKind.checkin_shared, key, data, now)
    elif event.type in ("conversation.started", "conversation.moved"):
        await _push_turn(session, event, key, now, facts)


# Whose turn it is needs the rules' state alone: the topic (sealed at rest) stays unread.
_TURN_STATE = load_only(
    Conversation.couple_id,
    Conversation.speaker_id,
    Conversation.listener_id,
    Conversation.phase,
    Conversation.paused,
    Conversation.ended_at,
    Conversation.appreciated_by,
    Conversation.last_seq,
)


async def _push_turn(
    session: AsyncSession, event: Event, key: str, now: datetime, facts: Facts
) -> None:
    conversation_id = _id(event, "conversation_id")
    conversation = (
        await session.scalar(
            select(Conversation).options(_TURN_STATE).where(Conversation.id == conversation_id)
        )
        if conversation_id
        else None
    )
    if conversation is None or conversation.last_seq != (event.data or {}).get("seq", 0):
        return  # gone, or moved on since: the later move's own push speaks for it
    partner = await active_partner(session, conversation.couple_id, event.user_id)
    if partner is None or not _may_see(partner, event, facts):
        return
    if not TURN_MOVES.intersection(moves_for(conversation, partner)):
        return
    data = {"couple_id": str(conversation.couple_id), "conversation_id": str(conversation.id)}
    await queue(session, partner, NotificationKind.conversation_turn, key, data, now)
