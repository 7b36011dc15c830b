"""The speaker-listener rules, pure: which move may come next, and what it leads to.

No I/O: the conversation service (`app.services.conversations`) loads a `State`, asks
`apply` for the next one and stores it; a refused move raises `OutOfOrder` naming the moves
expected instead, and the state is left as it was (states are immutable).

    awaiting_share         speaker: share                → awaiting_paraphrase
    awaiting_paraphrase    listener: paraphrase          → awaiting_confirmation
    awaiting_confirmation  speaker: confirm              → confirmed
                           speaker: correct              → awaiting_paraphrase
    confirmed              speaker: share                → awaiting_paraphrase
                           speaker: pass_floor           → awaiting_share, roles swapped
    any non-ended state    either: pause (if running), resume (if paused), end
    ended                  either: appreciate, once each

A conversation holds at most `MAX_TURNS` moves before it ends: from then on `end` is the only
move, so a conversation (and the page that shows it) stays bounded, and either partner can
always stop. With `end` and the two appreciations, it never has more than `MAX_TURNS + 3`.

The moves and phases are the stored vocabulary (`app.models.conversations`), re-exported here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

from app.models.conversations import Move, Phase

__all__ = [
    "MAX_TEXT",
    "MAX_TURNS",
    "TEXT_MOVES",
    "Move",
    "NotInConversation",
    "OutOfOrder",
    "Phase",
    "State",
    "allowed",
    "apply",
]

MAX_TEXT = 500
MAX_TURNS = 300

TEXT_MOVES = frozenset({Move.share, Move.paraphrase, Move.correct, Move.appreciate})
"""Moves that carry text (1 to `MAX_TEXT` characters)."""

_SPEAKER_MOVES: dict[Phase, dict[Move, Phase]] = {
    Phase.awaiting_share: {Move.share: Phase.awaiting_paraphrase},
    Phase.awaiting_paraphrase: {},
    Phase.awaiting_confirmation: {
        Move.confirm: Phase.confirmed,
        Move.correct: Phase.awaiting_paraphrase,
    },
    Phase.confirmed: {Move.share: Phase.awaiting_paraphrase, Move.pass_floor: Phase.awaiting_share},
}
_LISTENER_MOVES: dict[Phase, dict[Move, Phase]] = {
    Phase.awaiting_paraphrase: {Move.paraphrase: Phase.awaiting_confirmation},
}


class OutOfOrder(Exception):
    """A move the rules do not allow now; `expected` lists what this person may do."""

    def __init__(self, move: Move, expected: list[Move]) -> None:
        self.move = move
        self.expected = expected
        names = ", ".join(m.value for m in expected) or "nothing"
        super().__init__(f"{move.value} is not allowed now; expected: {names}")


class NotInConversation(Exception):
    """The person is neither of the two partners."""


@dataclass(frozen=True, slots=True)
class State:
    speaker: uuid.UUID
    listener: uuid.UUID
    phase: Phase = Phase.awaiting_share
    paused: bool = False
    ended: bool = False
    appreciated: frozenset[uuid.UUID] = field(default_factory=frozenset)
    turns: int = 0
    """The moves made so far."""


def allowed(state: State, person: uuid.UUID) -> list[Move]:
    """The moves `person` may make now, in `Move` order."""
    if person not in (state.speaker, state.listener):
        raise NotInConversation
    if state.ended:
        return [] if person in state.appreciated else [Move.appreciate]
    if state.turns >= MAX_TURNS:
        return [Move.end]
    if state.paused:
        return [Move.resume, Move.end]
    table = _SPEAKER_MOVES if person == state.speaker else _LISTENER_MOVES
    moves = set(table.get(state.phase, {})) | {Move.pause, Move.end}
    return [move for move in Move if move in moves]


def apply(state: State, person: uuid.UUID, move: Move) -> State:
    """The state after `person` makes `move`; OutOfOrder (state unchanged) if not allowed."""
    expected = allowed(state, person)
    if move not in expected:
        raise OutOfOrder(move, expected)
    counted = replace(state, turns=state.turns + 1)
    if move is Move.appreciate:
        return replace(counted, appreciated=state.appreciated | {person})
    if move is Move.end:
        return replace(counted, ended=True, paused=False)
    if move is Move.pause:
        return replace(counted, paused=True)
    if move is Move.resume:
        return replace(counted, paused=False)
    table = _SPEAKER_MOVES if person == state.speaker else _LISTENER_MOVES
    following = table[state.phase][move]
    if move is Move.pass_floor:
        return replace(counted, speaker=state.listener, listener=state.speaker, phase=following)
    return replace(counted, phase=following)
