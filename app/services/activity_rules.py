"""Time together's rules, pure: when marks make a match, when a match may change, when it is
done. No I/O: `app.services.activities` and `app.services.activity_matches` store what these
decide.

- A match exists exactly when both current partners mark the same idea `want`
  (`is_match`); a mark alone never shows, so `not_now` and "not marked yet" look the same
  to the partner.
- A match goes away when a mark stops being `want` while it is not planned yet
  (`drops_match`); once planned, it stays for the plan's sake.
- A match is planned for a local date from today on, and re-planned or cleared until the
  first review (`plan_problem`).
- Each partner says how it went once, from the planned date on (`review_problem`); the plan
  is done when both did (`is_done`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import date

from app.models.activities import Mark

MIN_RATING = 1
MAX_RATING = 5
MAX_TITLE = 200
MAX_NOTE = 1000


def is_match(members: Collection[uuid.UUID], marks: Mapping[uuid.UUID, Mark]) -> bool:
    """Both partners of a couple of two want the idea."""
    return len(members) == 2 and all(marks.get(member) is Mark.want for member in members)


def drops_match(*, planned: bool, reviewed: bool) -> bool:
    """Whether a match goes away when a partner stops wanting it."""
    return not planned and not reviewed


def plan_problem(today: date, planned_for: date | None, *, reviewed: bool) -> str | None:
    """Why this plan change is refused, or None when it is allowed."""
    if reviewed:
        return "reviewed"
    if planned_for is not None and planned_for < today:
        return "past"
    return None


def review_problem(
    today: date, planned_for: date | None, reviewers: Collection[uuid.UUID], person: uuid.UUID
) -> str | None:
    """Why this person may not say how it went now, or None when they may."""
    if planned_for is None:
        return "not_planned"
    if today < planned_for:
        return "too_early"
    if person in reviewers:
        return "already_reviewed"
    return None


def is_done(members: Collection[uuid.UUID], reviewers: Collection[uuid.UUID]) -> bool:
    return len(members) == 2 and set(members) <= set(reviewers)
