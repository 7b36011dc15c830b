"""Time together's matches: listing them, planning one for a local date, and saying how it
went.

A match (an idea both partners want, stored by `app.services.activities`) is planned for a
local date in the couple's timezone, from today on ("today" reads the couple's clock, a test
clock included, through the `now` the caller passes); it can be re-planned or cleared until
the first review. From the planned date on, each partner says how it went once (a rating of
1 to 5 and an optional note, sealed under their key); the partner's review shows once both
said theirs (as answers reveal), and the plan is done then (`activity.completed`). Who sees
it is `app.services.activities`' rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import Preferences
from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, FieldError, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.activities import ActivityMatch, ActivityReview
from app.services import activity_rules as rules
from app.services.activities import READ, WRITE, IdeaView, caller_for, views
from app.services.daily import local_date
from app.services.repair_access import Caller, Guard, couple_row, record_event


class MatchStatus(StrEnum):
    matched = "matched"
    planned = "planned"
    done = "done"


class MatchNotFound(NotFound):
    slug = "activity-match-not-found"
    title = "Match not found"


class PlanLocked(Conflict):
    slug = "activity-plan-reviewed"
    title = "The plan cannot change once a partner said how it went"


class ReviewRefused(Conflict):
    slug = "activity-review-not-possible"
    title = "You cannot say how it went now"


@dataclass
class MatchView:
    """A match as one partner reads it."""

    match: ActivityMatch
    idea: IdeaView | None
    """None when the idea is no longer listed (a curated prompt left its library)."""
    reviews: list[ActivityReview]
    """The caller's own review; the partner's too once the plan is done."""
    today: date

    @property
    def status(self) -> MatchStatus:
        if self.match.completed_at is not None:
            return MatchStatus.done
        return MatchStatus.planned if self.match.planned_for is not None else MatchStatus.matched


async def _views(
    session: AsyncSession,
    caller: Caller,
    matches: list[ActivityMatch],
    wanted: Preferences,
    now: datetime,
) -> list[MatchView]:
    ideas = {
        idea.id: idea for idea in await views(session, caller, [m.idea_id for m in matches], wanted)
    }
    by_match: dict[uuid.UUID, list[ActivityReview]] = {}
    if matches:
        found = await session.scalars(
            select(ActivityReview)
            .where(ActivityReview.match_id.in_([m.id for m in matches]))
            .order_by(ActivityReview.created_at, ActivityReview.id)
        )
        for review in found:
            by_match.setdefault(review.match_id, []).append(review)
    today = local_date(caller.couple, now)
    result = []
    for match in matches:
        done = match.completed_at is not None
        reviews = [r for r in by_match.get(match.id, []) if done or r.user_id == caller.user_id]
        result.append(MatchView(match, ideas.get(match.idea_id), reviews, today))
    return result


async def _find(
    session: AsyncSession, caller: Caller, match_id: uuid.UUID, *, for_change: bool
) -> ActivityMatch:
    missing = MatchNotFound("Your couple has no match with this id.")
    return await couple_row(
        session, ActivityMatch, caller, match_id, for_change=for_change, missing=missing
    )


async def list_matches(
    session: AsyncSession, me: Member, params: PageQuery, wanted: Preferences, now: datetime
) -> tuple[list[MatchView], Window[ActivityMatch]]:
    """The couple's matches, newest first."""
    caller = await caller_for(session, me, READ)
    window = await paginate(
        session,
        select(ActivityMatch).where(ActivityMatch.couple_id == caller.couple.id),
        order=(ActivityMatch.matched_at, ActivityMatch.id),
        params=params,
        descending=True,
    )
    return await _views(session, caller, window.items, wanted, now), window


async def get_match(
    session: AsyncSession, me: Member, match_id: uuid.UUID, wanted: Preferences, now: datetime
) -> MatchView:
    caller = await caller_for(session, me, READ)
    match = await _find(session, caller, match_id, for_change=False)
    return (await _views(session, caller, [match], wanted, now))[0]


async def plan(
    session: AsyncSession,
    me: Member,
    match_id: uuid.UUID,
    planned_for: date | None,
    wanted: Preferences,
    now: datetime,
    *,
    guard: Guard[MatchView] | None = None,
) -> MatchView:
    """Plan the match for a local date from today on, move the date, or clear it (None)."""
    caller = await caller_for(session, me, WRITE)
    match = await _find(session, caller, match_id, for_change=True)
    [view] = await _views(session, caller, [match], wanted, now)
    if guard is not None:
        guard(view)
    reviewed = await session.scalar(
        select(ActivityReview.id).where(ActivityReview.match_id == match.id).limit(1)
    )
    problem = rules.plan_problem(view.today, planned_for, reviewed=reviewed is not None)
    if problem == "reviewed":
        raise PlanLocked("A partner already said how it went; the plan stays as it was.")
    if problem == "past":
        detail = f"must be today ({view.today.isoformat()}, your couple's date) or later"
        raise UnprocessableContent(
            f"planned_for: {detail}.",
            errors=[FieldError(pointer="#/planned_for", detail=detail)],
        )
    if match.planned_for != planned_for:
        match.planned_for = planned_for
        match.planned_by = caller.user_id if planned_for is not None else None
        match.updated_at = now
        await session.flush()
        await record_event(
            session,
            "activity.planned",
            caller,
            match_id=match.id,
            planned_for=planned_for.isoformat() if planned_for else None,
        )
    return (await _views(session, caller, [match], wanted, now))[0]


async def review(
    session: AsyncSession,
    me: Member,
    match_id: uuid.UUID,
    rating: int,
    note: str | None,
    wanted: Preferences,
    now: datetime,
) -> MatchView:
    """Say how a planned activity went, once, from its date on; done when both did."""
    caller = await caller_for(session, me, WRITE)
    match = await _find(session, caller, match_id, for_change=True)
    reviewers = set(
        await session.scalars(
            select(ActivityReview.user_id).where(ActivityReview.match_id == match.id)
        )
    )
    today = local_date(caller.couple, now)
    problem = rules.review_problem(today, match.planned_for, reviewers, caller.user_id)
    if problem is not None:
        raise ReviewRefused(_REFUSALS[problem], reason=problem)
    session.add(
        ActivityReview(
            match_id=match.id, user_id=caller.user_id, rating=rating, note=note, created_at=now
        )
    )
    reviewers.add(caller.user_id)
    members = [caller.user_id] + ([caller.partner_id] if caller.partner_id else [])
    if rules.is_done(members, reviewers):
        match.completed_at = now
    match.updated_at = now
    await session.flush()
    if match.completed_at is not None:
        await record_event(session, "activity.completed", caller, match_id=match.id)
    return (await _views(session, caller, [match], wanted, now))[0]


_REFUSALS = {
    "not_planned": "Plan the match for a date first; then say how it went.",
    "too_early": "The planned date has not come yet in your couple's timezone.",
    "already_reviewed": "You already said how it went.",
}
