"""Local dates in requests: the one ISO form, and a `from`/`to` range read in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BeforeValidator

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: object) -> object:
    # Lax parsing would also read `0` as 1970-01-01; a local date is written one way only.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date such as 2026-03-01")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Since = Annotated[
    IsoDate | None, Query(alias="from", description="The earliest local date to include.")
]
Until = Annotated[
    IsoDate | None,
    Query(
        alias="to",
        description="The latest local date to include; before `from`, nothing is selected.",
    ),
]


@dataclass(frozen=True, slots=True)
class DateRange:
    """Both ends included; either may be open."""

    since: date | None = None
    until: date | None = None


async def date_range(since: Since = None, until: Until = None) -> DateRange:
    """`from` after `to` is an empty range: it selects nothing (a schema cannot relate two
    parameters, so the API does not refuse what the schema accepts)."""
    return DateRange(since=since, until=until)


LocalDates = Annotated[DateRange, Depends(date_range)]
"""`dates: LocalDates` reads `?from=&to=` as local dates (`from` after `to` selects nothing)."""
