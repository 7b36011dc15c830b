"""The weekly ritual's pure rules: when it is next due (hypothesis, over time zones, across
daylight-saving changes), which week a ritual belongs to, the order of the steps, and when
the partners' words are revealed."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.rituals import RitualStep, Weekday
from app.services.notifications_time import reminder_instant
from app.services.ritual_rules import (
    StepOutOfOrder,
    complete,
    due_on,
    finish,
    next_due,
    revealed,
    week_of,
)

ZONES = sorted(zone for zone in zoneinfo.available_timezones() if "/" in zone)
TRANSITION_ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Havana",  # transitions at midnight
    "America/Santiago",
    "Pacific/Chatham",
]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
local_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
zones = st.one_of(st.sampled_from(TRANSITION_ZONES), st.sampled_from(ZONES))


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


@settings(max_examples=300, deadline=None)
@given(now=instants, weekday=st.sampled_from(list(Weekday)), at=local_times, name=zones)
def test_the_next_due_time_is_the_scheduled_weekday_at_the_local_time_in_the_future(
    now: datetime, weekday: Weekday, at: time, name: str
) -> None:
    zone = ZoneInfo(name)
    due = next_due(now, weekday, at, zone)
    assert due > now
    assert due - now <= timedelta(days=7, hours=3)
    wall = _wall(due, zone)
    assert wall.date().weekday() == weekday.number
    wanted = datetime.combine(wall.date(), at)
    if _wall(wanted.replace(tzinfo=zone).astimezone(UTC), zone) == wanted:
        assert wall == wanted  # the time exists that day: then, at its first occurrence
    else:
        assert wall > wanted  # a spring-forward gap: the first valid time after it
    # Nothing was skipped: the week before's moment is not after now.
    assert reminder_instant(wall.date() - timedelta(days=7), at, zone) <= now
    # And the reminder job finds it due then, for that very date.
    assert due_on(due, weekday, at, zone) == wall.date()
    assert due_on(due - timedelta(seconds=1), weekday, at, zone) != wall.date()


@settings(max_examples=200, deadline=None)
@given(now=instants, weekday=st.sampled_from(list(Weekday)), name=zones)
def test_a_ritual_belongs_to_the_week_that_began_on_the_latest_scheduled_day(
    now: datetime, weekday: Weekday, name: str
) -> None:
    zone = ZoneInfo(name)
    week = week_of(now, weekday, zone)
    today = _wall(now, zone).date()
    assert week.weekday() == weekday.number
    assert today - timedelta(days=6) <= week <= today


def test_across_the_spring_change_in_berlin() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    saturday = datetime(2027, 3, 27, 12, tzinfo=UTC)  # CET, UTC+1
    assert next_due(saturday, Weekday.sunday, time(19), berlin) == datetime(
        2027, 3, 28, 17, tzinfo=UTC
    )  # CEST by then, UTC+2
    assert next_due(saturday, Weekday.sunday, time(2, 30), berlin) == datetime(
        2027, 3, 28, 1, tzinfo=UTC
    )  # 02:30 does not exist that night: 03:00 CEST
    assert week_of(saturday, Weekday.sunday, berlin) == date(2027, 3, 21)
    assert week_of(saturday, Weekday.saturday, berlin) == date(2027, 3, 27)


ANN, BO = "ann", "bo"


def test_the_steps_go_in_order_and_the_issue_counts_for_both() -> None:
    progress: dict[str, int] = {ANN: 0, BO: 0}
    with pytest.raises(StepOutOfOrder) as refused:
        finish(progress, False, ANN, RitualStep.went_well)
    assert refused.value.current is RitualStep.appreciations
    progress, done = finish(progress, False, ANN, RitualStep.appreciations)
    progress, done = finish(progress, done, ANN, RitualStep.went_well)
    progress, done = finish(progress, done, ANN, RitualStep.issue)
    assert done and progress == {ANN: 3, BO: 0}
    progress, done = finish(progress, done, BO, RitualStep.appreciations)
    progress, done = finish(progress, done, BO, RitualStep.went_well)
    assert progress == {ANN: 3, BO: 3}  # Bo skips the issue the couple already chose
    with pytest.raises(StepOutOfOrder):
        finish(progress, done, BO, RitualStep.issue)
    progress, done = finish(progress, done, ANN, RitualStep.next_week)
    assert not complete(progress, [ANN, BO])
    progress, done = finish(progress, done, BO, RitualStep.next_week)
    assert complete(progress, [ANN, BO])
    with pytest.raises(StepOutOfOrder) as over:
        finish(progress, done, BO, RitualStep.next_week)
    assert over.value.current is None


def test_words_are_revealed_once_both_finished_the_step_or_the_ritual_closed() -> None:
    members = [ANN, BO]
    step = RitualStep.appreciations
    assert not revealed(step, {ANN: 1, BO: 0}, members, closed=False)
    assert revealed(step, {ANN: 1, BO: 1}, members, closed=False)
    assert not revealed(RitualStep.went_well, {ANN: 1, BO: 1}, members, closed=False)
    assert revealed(RitualStep.went_well, {ANN: 1, BO: 0}, members, closed=True)
    assert not revealed(step, {ANN: 4}, [ANN], closed=False)  # a partner is missing
