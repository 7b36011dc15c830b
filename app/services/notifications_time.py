"""Local times for notifications: when a daily reminder is due, and quiet hours.

A reminder at local time T on local date D fires at the first instant whose local wall time
is T: on a fall-back day, when T happens twice, at its first occurrence (and once only,
since a reminder is keyed by its local date); on a spring-forward day, when T does not exist,
at the first valid time after the gap (02:30 in a gap 02:00-03:00 fires at 03:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CATCH_UP = timedelta(hours=1)
"""A reminder whose moment passed while no job ran is still sent this long after it."""


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def reminder_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of local `at` on local `day` (see the module docstring)."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == wall:
        return first
    # In a gap: the first instant at or after the wall time, found by bisection in seconds
    # between a moment certainly before it and `first`, which lies after it.
    low = int((first - timedelta(hours=6)).timestamp())
    high = int(first.timestamp())
    while low < high:
        middle = (low + high) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(high, UTC)


def reminder_due(now: datetime, at: time, zone: ZoneInfo) -> date | None:
    """The local date whose reminder is due at `now` (its moment passed less than
    `CATCH_UP` ago), if any."""
    today = _wall(now, zone).date()
    for day in (today, today - timedelta(days=1)):
        moment = reminder_instant(day, at, zone)
        if moment <= now < moment + CATCH_UP:
            return day
    return None


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return _wall(now, zone).date()


def quiet_until(
    now: datetime, start: time | None, end: time | None, zone: ZoneInfo
) -> datetime | None:
    """When the quiet hours `now` falls in end (UTC), or None outside them."""
    if start is None or end is None or start == end:
        return None
    wall = _wall(now, zone)
    clock = wall.time()
    if start < end:
        inside = start <= clock < end
        end_day = wall.date()
    else:  # across midnight, e.g. 22:00-08:00
        inside = clock >= start or clock < end
        end_day = wall.date() + timedelta(days=1) if clock >= start else wall.date()
    if not inside:
        return None
    return reminder_instant(end_day, end, zone)
