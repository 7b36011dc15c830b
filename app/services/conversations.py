"""Speaker-listener conversations: starting one, reading them, and making moves.

The rules are `app.services.conversation_rules` (pure); this module stores what they decide.
A move locks the conversation's row (`SELECT ... FOR UPDATE` on PostgreSQL), rebuilds the
rules' `State` from it, applies the move, and stores the turn, the new state and its event in
the caller's transaction, so two moves at once queue and the second sees the first.

Who sees a conversation: the two current members of the couple it belongs to, through a
first-party app, or through a third-party one only while BOTH partners consent to it with
`conversations:read` (both partners' words are in it), as `repair_access` decides for repair
plans. Anybody else, an ex-partner included, finds nothing (404). Events carry ids, the move
and the phase, never the words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, FieldError, NotFound, UnprocessableContent
from app.core.security import Member, Scope
from app.models.conversations import Conversation, ConversationTurn
from app.models.prompts import PromptVersion
from app.schemas.conversations import ConversationCreate, FirstSpeaker, MoveIn
from app.services.conversation_rules import (
    MAX_TEXT,
    TEXT_MOVES,
    Move,
    NotInConversation,
    OutOfOrder,
    Phase,
    State,
    allowed,
    apply,
)
from app.services.library_prompts import PromptNotFound
from app.services.repair_access import Caller, couple_row, record_event, resolve_caller

READ: frozenset[str] = frozenset({Scope.conversations_read.value})
WRITE: frozenset[str] = READ | {Scope.conversations_write.value}


class ConversationsHidden(NotFound):
    slug = "conversations-not-found"
    title = "No conversations are visible here"


class ConversationNotFound(NotFound):
    slug = "conversation-not-found"
    title = "Conversation not found"


class PartnerMissing(Conflict):
    slug = "conversation-needs-partner"
    title = "A conversation needs both partners"


class MoveOutOfOrder(Conflict):
    slug = "conversation-move-out-of-order"
    title = "This move is not yours to make now"


@dataclass
class ConversationView:
    """A conversation as one partner reads it."""

    conversation: Conversation
    turns: list[ConversationTurn]
    allowed_moves: list[Move]
    """The moves this partner can make now."""


def state_of(conversation: Conversation) -> State:
    return State(
        speaker=conversation.speaker_id,
        listener=conversation.listener_id,
        phase=conversation.phase,
        paused=conversation.paused,
        ended=conversation.ended_at is not None,
        appreciated=frozenset(uuid.UUID(value) for value in conversation.appreciated_by),
        turns=conversation.last_seq,
    )


def moves_for(conversation: Conversation, user_id: uuid.UUID) -> list[Move]:
    """The moves this person can make now (none for someone in neither role)."""
    try:
        return allowed(state_of(conversation), user_id)
    except NotInConversation:  # a member of the couple who is in neither role: none
        return []


async def _caller(session: AsyncSession, me: Member, needed: frozenset[str]) -> Caller:
    hidden = ConversationsHidden(
        "This app can see a couple's conversations only once both partners have allowed it."
    )
    return await resolve_caller(session, me, needed, hidden=hidden)


async def _find(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, *, for_change: bool
) -> Conversation:
    missing = ConversationNotFound("Your couple has no conversation with this id.")
    return await couple_row(
        session, Conversation, caller, conversation_id, for_change=for_change, missing=missing
    )


async def _view(
    session: AsyncSession, caller: Caller, conversation: Conversation
) -> ConversationView:
    turns = await session.scalars(
        select(ConversationTurn)
        .where(ConversationTurn.conversation_id == conversation.id)
        .order_by(ConversationTurn.seq)
    )
    return ConversationView(
        conversation=conversation,
        turns=list(turns),
        allowed_moves=moves_for(conversation, caller.user_id),
    )


async def get_conversation(
    session: AsyncSession, me: Member, conversation_id: uuid.UUID
) -> ConversationView:
    caller = await _caller(session, me, READ)
    return await _view(
        session, caller, await _find(session, caller, conversation_id, for_change=False)
    )


async def list_turns(
    session: AsyncSession,
    me: Member,
    conversation_id: uuid.UUID,
    params: PageQuery,
    *,
    after_seq: int = 0,
) -> Window[ConversationTurn]:
    """A conversation's turns in order, a page at a time, only those after `after_seq` (a
    client following a live conversation passes the last turn it holds)."""
    caller = await _caller(session, me, READ)
    conversation = await _find(session, caller, conversation_id, for_change=False)
    return await paginate(
        session,
        select(ConversationTurn).where(
            ConversationTurn.conversation_id == conversation.id, ConversationTurn.seq > after_seq
        ),
        order=(ConversationTurn.seq,),
        params=params,
    )


async def list_conversations(
    session: AsyncSession, me: Member, params: PageQuery
) -> Window[Conversation]:
    """The couple's conversations, newest first."""
    caller = await _caller(session, me, READ)
    return await paginate(
        session,
        select(Conversation).where(Conversation.couple_id == caller.couple.id),
        order=(Conversation.created_at, Conversation.id),
        params=params,
        descending=True,
    )


async def _require_prompt(session: AsyncSession, prompt_id: uuid.UUID) -> None:
    live = await session.scalar(
        select(PromptVersion.id)
        .where(PromptVersion.prompt_id == prompt_id, PromptVersion.is_live.is_(True))
        .limit(1)
    )
    if live is None:
        raise PromptNotFound(
            "Start from a published prompt's id, or leave `prompt_id` out.",
            errors=[
                FieldError(pointer="#/prompt_id", detail="is not a published prompt").model_dump(
                    exclude_none=True
                )
            ],
        )


async def start(
    session: AsyncSession, me: Member, data: ConversationCreate, now: datetime
) -> ConversationView:
    """A new conversation of the caller's couple, awaiting the first speaker's share: the
    caller, unless `first_speaker` names the partner."""
    caller = await _caller(session, me, WRITE)
    partner = caller.partner_id
    if partner is None:
        raise PartnerMissing("Your partner needs to join your couple before you talk here.")
    if data.prompt_id is not None:
        await _require_prompt(session, data.prompt_id)
    speaker, listener = caller.user_id, partner
    if data.first_speaker is FirstSpeaker.partner:
        speaker, listener = listener, speaker
    conversation = Conversation(
        id=uuid.uuid4(),
        couple_id=caller.couple.id,
        started_by=caller.user_id,
        topic=data.topic,
        prompt_id=data.prompt_id,
        phase=Phase.awaiting_share,
        speaker_id=speaker,
        listener_id=listener,
        paused=False,
        appreciated_by=[],
        last_seq=0,
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    await session.flush()
    await record_event(
        session,
        "conversation.started",
        caller,
        conversation_id=conversation.id,
        prompt_id=data.prompt_id,
    )
    return ConversationView(conversation, [], moves_for(conversation, caller.user_id))


def check_text(move: Move, text: str | None) -> None:
    """Words with the moves that carry them (1 to `MAX_TEXT` characters), none otherwise."""
    problem = None
    if move in TEXT_MOVES and not text:
        problem = f"`{move.value}` needs your words"
    elif move in TEXT_MOVES and text is not None and len(text) > MAX_TEXT:
        problem = f"must be at most {MAX_TEXT} characters"
    elif move not in TEXT_MOVES and text is not None:
        problem = f"`{move.value}` carries no text"
    if problem is not None:
        raise UnprocessableContent(
            f"text: {problem}.", errors=[FieldError(pointer="#/text", detail=problem)]
        )


async def make_move(
    session: AsyncSession,
    me: Member,
    conversation_id: uuid.UUID,
    data: MoveIn,
    now: datetime,
) -> ConversationView:
    """Make a move of the speaker-listener rules; out of turn, a 409 naming the moves the
    caller can make instead, and nothing changes."""
    check_text(data.move, data.text)
    caller = await _caller(session, me, WRITE)
    conversation = await _find(session, caller, conversation_id, for_change=True)
    before = state_of(conversation)
    try:
        after = apply(before, caller.user_id, data.move)
    except OutOfOrder as refused:
        names = [move.value for move in refused.expected]
        raise MoveOutOfOrder(
            f"You cannot {data.move.value} now"
            + (f"; you can: {', '.join(names)}." if names else "; there is nothing left to do."),
            expected_moves=names,
            phase=before.phase.value,
            paused=before.paused,
            ended=before.ended,
        ) from None
    except NotInConversation:
        raise ConversationNotFound("Your couple has no conversation with this id.") from None
    conversation.last_seq += 1
    turn = ConversationTurn(
        conversation_id=conversation.id,
        seq=conversation.last_seq,
        author_id=caller.user_id,
        move=data.move,
        text=data.text,
        created_at=now,
    )
    conversation.phase = after.phase
    conversation.speaker_id, conversation.listener_id = after.speaker, after.listener
    conversation.paused = after.paused
    conversation.appreciated_by = sorted(str(person) for person in after.appreciated)
    if after.ended and not before.ended:
        conversation.ended_at = now
    conversation.updated_at = now
    session.add(turn)
    await session.flush()
    ids = {"conversation_id": conversation.id, "seq": turn.seq}
    if data.move is Move.end:
        await record_event(session, "conversation.ended", caller, **ids)
    else:
        await record_event(
            session,
            "conversation.moved",
            caller,
            **ids,
            move=data.move.value,
            phase=after.phase.value,
        )
    return await _view(session, caller, conversation)
