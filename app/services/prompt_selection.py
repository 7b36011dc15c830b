"""Choosing a couple's prompt for a day: pure rules, no database, easy to check exhaustively.

The rules (seed-brief points 3 and 7):
- depth grows with the habit: light prompts first, depth 2 after revealed answers on
  `DEPTH_2_AFTER_DAYS` days, depth 3 only after `DEPTH_3_AFTER_DAYS`, never above the
  couple's own `max_depth`;
- never more than two depth-3 prompts on consecutive days;
- at least one `play` prompt in every three consecutive days;
- no prompt repeats until the couple's pool at its current depth is exhausted (a cycle);
- among the prompts still fresh, `prefer`red categories come first (a repair plan's lean
  toward `repair` and `play`), without shrinking the pool a cycle runs through;
- the choice is deterministic: the same couple, date and history give the same prompt.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.models.prompts import Category

DEPTH_2_AFTER_DAYS = 2
DEPTH_3_AFTER_DAYS = 7
MAX_DEEP_IN_A_ROW = 2
PLAY_WINDOW_DAYS = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    prompt_id: uuid.UUID
    version_id: uuid.UUID
    category: Category
    depth: int


@dataclass(frozen=True, slots=True)
class PastDay:
    local_date: date
    prompt_id: uuid.UUID
    category: Category
    depth: int
    cycle: int


@dataclass(frozen=True, slots=True)
class Choice:
    candidate: Candidate
    cycle: int


@dataclass
class History:
    """What the rules need to know about a couple's earlier days."""

    days: Sequence[PastDay] = field(default_factory=list)
    revealed_days: int = 0


def depth_cap(revealed_days: int, max_depth: int) -> int:
    habit = 1
    if revealed_days >= DEPTH_2_AFTER_DAYS:
        habit = 2
    if revealed_days >= DEPTH_3_AFTER_DAYS:
        habit = 3
    return max(1, min(habit, max_depth))


def _order_key(couple_id: uuid.UUID, day: date, candidate: Candidate) -> bytes:
    return hashlib.sha256(f"{couple_id}:{day.isoformat()}:{candidate.prompt_id}".encode()).digest()


def _recent(days: Iterable[PastDay], day: date, span: int) -> list[PastDay | None]:
    """The assigned prompts of the `span` calendar days before `day`, nearest first."""
    by_date = {d.local_date: d for d in days}
    return [by_date.get(date.fromordinal(day.toordinal() - back)) for back in range(1, span + 1)]


def choose_prompt(
    couple_id: uuid.UUID,
    day: date,
    pool: Sequence[Candidate],
    history: History,
    *,
    max_depth: int = 3,
    exclude: frozenset[uuid.UUID] = frozenset(),
    prefer: frozenset[Category] = frozenset(),
) -> Choice | None:
    """Pick the day's prompt from `pool`, or None when the pool is empty.

    `exclude` removes prompts from consideration for this pick only (a swap's old prompt).
    """
    pool = [c for c in pool if c.prompt_id not in exclude]
    if not pool:
        return None
    past = [d for d in history.days if d.local_date < day]
    cap = depth_cap(history.revealed_days, max_depth)
    allowed = [c for c in pool if c.depth <= cap] or [
        c for c in pool if c.depth == min(p.depth for p in pool)
    ]

    recent = _recent(past, day, max(PLAY_WINDOW_DAYS - 1, MAX_DEEP_IN_A_ROW))
    if all(d is not None and d.depth == 3 for d in recent[:MAX_DEEP_IN_A_ROW]):
        allowed = [c for c in allowed if c.depth < 3] or allowed
    needs_play = not any(
        d is not None and d.category is Category.play for d in recent[: PLAY_WINDOW_DAYS - 1]
    )

    cycle = max((d.cycle for d in past), default=1)
    used = {d.prompt_id for d in past if d.cycle == cycle}
    if not any(c.prompt_id not in used for c in allowed):
        cycle, used = cycle + 1, set()

    def fresh(cands: list[Candidate]) -> list[Candidate]:
        return [c for c in cands if c.prompt_id not in used]

    if needs_play:
        play = [c for c in allowed if c.category is Category.play]
        if fresh_play := fresh(play):
            return Choice(_first(couple_id, day, fresh_play), cycle)
        if play:
            # The play rule outranks variety: repeat the play prompt used longest ago.
            last_used = {d.prompt_id: d.local_date for d in past}
            best = min(
                play,
                key=lambda c: (last_used.get(c.prompt_id, date.min), _order_key(couple_id, day, c)),
            )
            return Choice(best, cycle)
    candidates = fresh(allowed)  # never empty: the cycle starts over before that
    preferred = [c for c in candidates if c.category in prefer]
    return Choice(_first(couple_id, day, preferred or candidates), cycle)


def _first(couple_id: uuid.UUID, day: date, candidates: list[Candidate]) -> Candidate:
    return min(candidates, key=lambda c: _order_key(couple_id, day, c))
