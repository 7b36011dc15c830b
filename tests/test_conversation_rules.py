"""The speaker-listener rules, property-tested: random sequences of moves by either
partner (or a stranger), checked against what the rules promise."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.conversation_rules import (
    MAX_TURNS,
    Move,
    NotInConversation,
    OutOfOrder,
    Phase,
    State,
    allowed,
    apply,
)

ANN, BO, CY = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
attempts = st.lists(st.tuples(st.sampled_from([ANN, BO]), st.sampled_from(list(Move))), max_size=60)


def _run(
    steps: list[tuple[uuid.UUID, Move]], *, turns: int = 0
) -> list[tuple[State, uuid.UUID, Move, State | None]]:
    """Every attempt with the state before it and after it (None when refused), from a
    conversation that already holds `turns` moves."""
    state = State(speaker=ANN, listener=BO, turns=turns)
    history: list[tuple[State, uuid.UUID, Move, State | None]] = []
    for person, move in steps:
        after: State | None = None
        problem: OutOfOrder | None
        try:
            after = apply(state, person, move)
        except OutOfOrder as refused:
            problem = refused
        else:
            problem = None
        if problem is not None:
            assert problem.move is move and problem.expected == allowed(state, person)
        history.append((state, person, move, after))
        state = after or state
    return history


@settings(max_examples=300, deadline=None)
@given(attempts)
def test_a_move_is_accepted_exactly_when_allowed_and_a_refusal_changes_nothing(
    steps: list[tuple[uuid.UUID, Move]],
) -> None:
    for before, person, move, after in _run(steps):
        assert (after is not None) == (move in allowed(before, person))


@settings(max_examples=300, deadline=None)
@given(attempts)
def test_the_floor_passes_only_after_a_confirmed_paraphrase(
    steps: list[tuple[uuid.UUID, Move]],
) -> None:
    accepted = [(person, move) for _, person, move, after in _run(steps) if after is not None]
    for index, (_, move) in enumerate(accepted):
        if move is not Move.pass_floor:
            continue
        turns = [m for _, m in accepted[:index] if m not in (Move.pause, Move.resume)]
        assert turns[-1] is Move.confirm
        # ... a confirmation of a paraphrase, by the speaker who passes the floor
        assert Move.paraphrase in turns


@settings(max_examples=300, deadline=None)
@given(attempts)
def test_the_listener_paraphrases_before_anything_else_after_a_share_or_correction(
    steps: list[tuple[uuid.UUID, Move]],
) -> None:
    for before, person, move, after in _run(steps):
        if after is None or before.ended or before.phase is not Phase.awaiting_paraphrase:
            continue
        if move not in (Move.pause, Move.resume, Move.end):
            assert move is Move.paraphrase and person == before.listener


@settings(max_examples=300, deadline=None)
@given(attempts)
def test_both_partners_can_always_pause_or_resume_and_end_until_it_ended(
    steps: list[tuple[uuid.UUID, Move]],
) -> None:
    for before, _, _, after in _run(steps):
        for state in (before, after):
            if state is None or state.ended:
                continue
            for person in (ANN, BO):
                moves = allowed(state, person)
                assert Move.end in moves
                assert (Move.resume if state.paused else Move.pause) in moves


@settings(max_examples=300, deadline=None)
@given(attempts, st.integers(min_value=MAX_TURNS - 8, max_value=MAX_TURNS))
def test_a_full_conversation_can_only_end_and_never_grows_past_its_bound(
    steps: list[tuple[uuid.UUID, Move]], turns: int
) -> None:
    for before, person, _move, after in _run(steps, turns=turns):
        if after is not None:
            assert after.turns == before.turns + 1 <= MAX_TURNS + 3
        if not before.ended and before.turns >= MAX_TURNS:
            assert allowed(before, person) == [Move.end]
        if not before.ended:
            assert Move.end in allowed(before, person)


@settings(max_examples=300, deadline=None)
@given(attempts)
def test_ended_is_final_but_for_one_appreciation_each(
    steps: list[tuple[uuid.UUID, Move]],
) -> None:
    appreciations: list[uuid.UUID] = []
    for before, person, move, after in _run(steps):
        if before.ended and after is not None:
            assert move is Move.appreciate and after.ended
            assert (after.speaker, after.listener, after.phase) == (
                before.speaker,
                before.listener,
                before.phase,
            )
            appreciations.append(person)
    assert len(appreciations) == len(set(appreciations))


def test_a_whole_exchange_and_a_stranger() -> None:
    state = State(speaker=ANN, listener=BO)
    for person, move in (
        (ANN, Move.share),
        (BO, Move.paraphrase),
        (ANN, Move.correct),
        (BO, Move.paraphrase),
        (ANN, Move.confirm),
        (ANN, Move.pass_floor),
    ):
        state = apply(state, person, move)
    assert (state.speaker, state.listener, state.phase) == (BO, ANN, Phase.awaiting_share)
    with pytest.raises(OutOfOrder) as refused:
        apply(state, ANN, Move.share)
    assert refused.value.expected == [Move.pause, Move.end]
    with pytest.raises(NotInConversation):
        allowed(state, CY)
