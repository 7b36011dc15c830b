"""The daily reminder across daylight-saving changes, over time zones and dates (hypothesis):
the per-minute job finds it due during one stretch of minutes per local day, starting at the
chosen local time, or at the first valid time after a spring-forward gap; on a fall-back day
the repeated hour does not bring it back."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.notifications_time import (
    CATCH_UP,
    quiet_until,
    reminder_due,
    reminder_instant,
)

MINUTE = timedelta(minutes=1)
ZONES = sorted(zone for zone in zoneinfo.available_timezones() if "/" in zone)
TRANSITION_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute shift
    "America/Santiago",
    "America/Havana",  # transitions at midnight
    "Pacific/Chatham",  # a 45-minute offset
    "America/St_Johns",
    "Asia/Beirut",
]


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _minutes_due(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """Every job tick (each UTC minute around the local day) at which `day` is due."""
    start = reminder_instant(day, time(0), zone) - timedelta(hours=3)
    end = reminder_instant(day + timedelta(days=1), time(0), zone) + timedelta(hours=3)
    start = start.replace(second=0)
    due, tick = [], start
    while tick < end:
        if reminder_due(tick, at, zone) == day:
            due.append(tick)
        tick += MINUTE
    return due


def _check(zone_name: str, day: date, at: time) -> None:
    zone = ZoneInfo(zone_name)
    due = _minutes_due(day, at, zone)
    assert due, "the reminder never came"
    first = due[0]
    # One stretch of consecutive minutes: a later repeat of the hour never re-opens it.
    assert due == [first + MINUTE * i for i in range(len(due))]
    assert len(due) <= CATCH_UP / MINUTE
    wanted = datetime.combine(day, at)
    moment = reminder_instant(day, at, zone)
    assert moment <= first < moment + MINUTE
    shown = _wall(moment, zone)
    if _wall(wanted.replace(tzinfo=zone).astimezone(UTC), zone) == wanted:
        assert shown == wanted  # the time exists: then, at its first occurrence
        earlier = moment - timedelta(hours=3)
        while earlier < moment:
            assert _wall(earlier, zone) != wanted
            earlier += MINUTE
    else:
        assert shown > wanted  # in a gap: the first valid time after it
        assert _wall(moment - timedelta(seconds=1), zone) < wanted
    assert shown.date() == day


@pytest.mark.slow  # forty generated cases
@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(date(2020, 1, 1), date(2032, 12, 31)),
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_once_a_local_day_in_any_zone(zone: str, day: date, at: time) -> None:
    _check(zone, day, at)


@functools.cache
def _transition_days(zone: ZoneInfo, year: int) -> list[date]:
    days: list[date] = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        moment += timedelta(hours=1)
        now = moment.astimezone(zone).utcoffset()
        if now != offset:
            days.append(moment.astimezone(zone).date())
            offset = now
    return days


@pytest.mark.slow  # forty generated cases
@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(TRANSITION_ZONES),
    year=st.integers(2021, 2030),
    pick=st.integers(0, 1),
    at=st.one_of(
        st.sampled_from(
            [time(0, 0), time(0, 30), time(1, 30), time(2, 0), time(2, 30), time(3, 0)]
        ),
        st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    ),
)
def test_once_on_the_days_the_clocks_change(zone: str, year: int, pick: int, at: time) -> None:
    days = _transition_days(ZoneInfo(zone), year)
    if not days:
        return  # the zone stopped changing its clocks
    _check(zone, days[pick % len(days)], at)


def test_spring_forward_and_fall_back_in_berlin() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    gap = reminder_instant(date(2026, 3, 29), time(2, 30), berlin)
    assert _wall(gap, berlin) == datetime(2026, 3, 29, 3, 0)  # 02:30 never happens that night
    twice = reminder_instant(date(2026, 10, 25), time(2, 30), berlin)
    assert twice == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    assert reminder_due(twice + timedelta(hours=1), time(2, 30), berlin) is None  # not the second


def test_quiet_hours_across_midnight_and_a_clock_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = time(22), time(7)
    assert quiet_until(datetime(2026, 3, 28, 21, 30, tzinfo=UTC), start, end, berlin) == datetime(
        2026, 3, 29, 5, 0, tzinfo=UTC
    )  # 22:30 CET → 07:00 CEST the next morning
    assert quiet_until(datetime(2026, 3, 29, 12, tzinfo=UTC), start, end, berlin) is None
    assert quiet_until(datetime(2026, 3, 29, 4, tzinfo=UTC), start, end, berlin) == datetime(
        2026, 3, 29, 5, 0, tzinfo=UTC
    )  # 06:00 CEST, still quiet
    assert quiet_until(datetime(2026, 3, 29, 4, tzinfo=UTC), None, None, berlin) is None
    daytime = quiet_until(datetime(2026, 6, 1, 11, tzinfo=UTC), time(12), time(14), berlin)
    assert daytime == datetime(2026, 6, 1, 12, tzinfo=UTC)
