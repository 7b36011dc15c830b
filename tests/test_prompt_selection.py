"""The daily selection rules, checked over a year of simulated days (hypothesis)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.prompts import Category
from app.services.prompt_selection import (
    DEPTH_2_AFTER_DAYS,
    DEPTH_3_AFTER_DAYS,
    Candidate,
    History,
    PastDay,
    choose_prompt,
)

START = date(2026, 1, 1)


@st.composite
def pools(draw: st.DrawFn) -> list[Candidate]:
    cells = draw(
        st.lists(
            st.tuples(st.sampled_from(list(Category)), st.integers(1, 3)), min_size=1, max_size=60
        )
    )
    # Every real library has light prompts and something playful.
    cells += [(Category.play, 1), (Category.share, 1)]
    return [
        Candidate(uuid.UUID(int=2 * i + 1), uuid.UUID(int=2 * i + 2), category, depth)
        for i, (category, depth) in enumerate(cells)
    ]


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    couple_id=st.uuids(),
    pool=pools(),
    max_depth=st.integers(1, 3),
    reveals=st.lists(st.booleans(), min_size=365, max_size=365),
    skipped=st.sets(st.integers(0, 364), max_size=40),
)
def test_a_year_of_days_keeps_every_rule(
    couple_id: uuid.UUID,
    pool: list[Candidate],
    max_depth: int,
    reveals: list[bool],
    skipped: set[int],
) -> None:
    days: list[PastDay] = []
    revealed = 0
    for offset in range(365):
        if offset in skipped:  # nobody opened the app that day: no prompt was assigned
            continue
        day = START + timedelta(days=offset)
        history = History(days=list(days), revealed_days=revealed)
        choice = choose_prompt(couple_id, day, pool, history, max_depth=max_depth)
        assert choice is not None
        assert choose_prompt(couple_id, day, pool, history, max_depth=max_depth) == choice
        picked = choice.candidate

        habit = 3 if revealed >= DEPTH_3_AFTER_DAYS else 2 if revealed >= DEPTH_2_AFTER_DAYS else 1
        cap = min(max_depth, habit)
        assert picked.depth <= cap

        by_date = {d.local_date: d for d in days}
        previous = [by_date.get(day - timedelta(days=n)) for n in (1, 2)]
        third_deep = all(p is not None and p.depth == 3 for p in previous)
        if third_deep:
            assert picked.depth < 3
        if not any(p is not None and p.category is Category.play for p in previous):
            assert picked.category is Category.play

        same_cycle = {d.prompt_id for d in days if d.cycle == choice.cycle}
        if picked.prompt_id in same_cycle:
            # A repeat within a cycle only when the play rule left no unused play prompt.
            unused_play = [
                c
                for c in pool
                if c.category is Category.play
                and c.depth <= (2 if third_deep else cap)
                and c.prompt_id not in same_cycle
            ]
            assert picked.category is Category.play and not unused_play
        days.append(PastDay(day, picked.prompt_id, picked.category, picked.depth, choice.cycle))
        revealed += reveals[offset]


def test_a_new_cycle_starts_only_when_the_pool_is_used_up() -> None:
    pool = [Candidate(uuid.uuid4(), uuid.uuid4(), Category.play, 1) for _ in range(4)]
    couple_id, days = uuid.uuid4(), list[PastDay]()
    for offset in range(8):
        day = START + timedelta(days=offset)
        choice = choose_prompt(couple_id, day, pool, History(days=list(days)))
        assert choice is not None
        days.append(PastDay(day, choice.candidate.prompt_id, Category.play, 1, choice.cycle))
    assert [d.cycle for d in days] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert len({d.prompt_id for d in days[:4]}) == 4
    assert {d.prompt_id for d in days[4:]} == {d.prompt_id for d in days[:4]}


def test_an_empty_pool_gives_no_prompt() -> None:
    assert choose_prompt(uuid.uuid4(), START, [], History()) is None


def test_couples_get_different_orders() -> None:
    pool = [Candidate(uuid.uuid4(), uuid.uuid4(), Category.play, 1) for _ in range(30)]
    picks = set()
    for n in range(10):
        choice = choose_prompt(uuid.UUID(int=n), START, pool, History())
        assert choice is not None
        picks.add(choice.candidate.prompt_id)
    assert len(picks) > 1


def test_a_preference_leans_without_shrinking_the_cycle() -> None:
    cells = [Category.repair, Category.share, Category.share, Category.listen]
    pool = [
        Candidate(uuid.UUID(int=2 * i + 1), uuid.UUID(int=2 * i + 2), c, 1)
        for i, c in enumerate(cells)
    ]
    play = Candidate(uuid.UUID(int=99), uuid.UUID(int=100), Category.play, 1)
    pool.append(play)
    couple_id = uuid.UUID(int=7)
    days: list[PastDay] = [PastDay(START - timedelta(days=1), play.prompt_id, Category.play, 1, 1)]
    picks = []
    for offset in range(4):
        day = START + timedelta(days=offset)
        lean = frozenset({Category.repair, Category.play})
        choice = choose_prompt(couple_id, day, pool, History(days=list(days)), prefer=lean)
        assert choice is not None
        picks.append(choice.candidate)
        days.append(
            PastDay(day, choice.candidate.prompt_id, choice.candidate.category, 1, choice.cycle)
        )
    # The fresh repair prompt first, then the others: the play prompt used the day before
    # is not repeated just because it is preferred, and the cycle runs through everything.
    assert picks[0].category is Category.repair
    assert len({p.prompt_id for p in picks}) == 4
    assert {d.cycle for d in days[1:4]} == {1}
