"""The weekly ritual's rules, pure: when it is due, which week a ritual belongs to, the order
of its steps, and when a partner's words are revealed.

Times. A couple schedules a weekday and a local wall time in the couple's time zone. Its
moment on a given local date is `notifications_time.reminder_instant`: on a fall-back day the
first occurrence of that wall time, on a spring-forward day the first valid instant after the
gap. A ritual belongs to the week that starts on the latest scheduled local date up to today
(`week_of`), so a ritual held a day late still counts for its week.

Steps, in order, for each partner:

    appreciations   write one or more, then finish
    went_well       write one or more, then finish
    issue           the couple's: link a speaker-listener conversation (start one or attach
                    one of the couple's), or skip; done once for both
    next_week       commit to small things (none is fine), then finish

A partner's words in a step stay hidden from the other until both finished that step, or
the ritual closed (answer-then-reveal, so nobody anchors on the other). The ritual completes
when both finished every step; either partner may end it before.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from datetime import time as Time
from zoneinfo import ZoneInfo

from app.models.rituals import RitualStep, Weekday
from app.services.notifications_time import local_today, reminder_due, reminder_instant

STEPS: tuple[RitualStep, ...] = tuple(RitualStep)
WRITTEN = frozenset({RitualStep.appreciations, RitualStep.went_well})
"""Steps whose words are entries (next week's are commitments)."""
ISSUE = STEPS.index(RitualStep.issue)
MAX_TEXT = 500


class StepOutOfOrder(Exception):
    """Not this partner's step now; `current` is theirs (None: they finished them all)."""

    def __init__(self, step: RitualStep, current: RitualStep | None) -> None:
        self.step = step
        self.current = current
        super().__init__(f"{step.value} is not the current step ({current})")


def week_of(now: datetime, weekday: Weekday, zone: ZoneInfo) -> date:
    """The latest scheduled local date up to the local today at `now`."""
    today = local_today(now, zone)
    return today - timedelta(days=(today.weekday() - weekday.number) % 7)


def next_due(now: datetime, weekday: Weekday, at: Time, zone: ZoneInfo) -> datetime:
    """The first moment after `now` at which the ritual is due (UTC)."""
    day = week_of(now, weekday, zone)
    while True:
        moment = reminder_instant(day, at, zone)
        if moment > now:
            return moment
        day += timedelta(days=7)


def due_on(now: datetime, weekday: Weekday, at: Time, zone: ZoneInfo) -> date | None:
    """The scheduled local date whose reminder is due at `now` (within the catch-up)."""
    day = reminder_due(now, at, zone)
    return day if day is not None and day.weekday() == weekday.number else None


def current_step(finished: int) -> RitualStep | None:
    return STEPS[finished] if finished < len(STEPS) else None


def check_step(finished: int, step: RitualStep) -> None:
    """Raise StepOutOfOrder unless `step` is the one a partner who finished `finished` is on."""
    current = current_step(finished)
    if current is not step:
        raise StepOutOfOrder(step, current)


def settle(progress: Mapping[str, int], issue_done: bool) -> dict[str, int]:
    """Progress with the couple's issue step counted for a partner who reached it."""
    return {
        person: ISSUE + 1 if issue_done and count == ISSUE else count
        for person, count in progress.items()
    }


def finish(
    progress: Mapping[str, int], issue_done: bool, person: str, step: RitualStep
) -> tuple[dict[str, int], bool]:
    """The progress (and whether the issue is done) after `person` finishes `step`."""
    count = progress.get(person, 0)
    check_step(count, step)
    after = {**progress, person: count + 1}
    issue_done = issue_done or step is RitualStep.issue
    return settle(after, issue_done), issue_done


def complete(progress: Mapping[str, int], members: Collection[str]) -> bool:
    return len(members) == 2 and all(progress.get(m, 0) >= len(STEPS) for m in members)


def revealed(
    step: RitualStep, progress: Mapping[str, int], members: Collection[str], closed: bool
) -> bool:
    """Whether the partners' words in `step` are shown to each other."""
    if closed:
        return True
    index = STEPS.index(step)
    return len(members) == 2 and all(progress.get(m, 0) > index for m in members)
