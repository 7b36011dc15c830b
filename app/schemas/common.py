"""Field types shared by request and response models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr


def _in_utc(moment: datetime) -> datetime:
    # Read back from the database or fresh from the clock, a time serialises alike (and so
    # keeps its ETag) only in one zone.
    return moment.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_in_utc)]
"""A timestamp that every response writes in UTC, whatever zone the value came in."""

_LOCALE = re.compile(r"^([A-Za-z]{2,3})(?:-([A-Za-z]{4}))?(?:-([A-Za-z]{2}|[0-9]{3}))?$")


# The IANA zones the API accepts, published as the schema's `TimeZone` enum: a committed list
# (not the machine's tz database), so the schema is the same wherever it is generated. A zone
# added to the tz database is added here (and announced in CHANGELOG.md).
TIME_ZONES: tuple[str, ...] = tuple(
    (Path(__file__).with_name("timezones.txt")).read_text(encoding="utf-8").split()
)
_TIME_ZONES = frozenset(TIME_ZONES)


def _check_timezone(value: str) -> str:
    if value not in _TIME_ZONES:
        raise ValueError("must be an IANA time zone such as Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("must be an IANA time zone such as Europe/Paris") from None
    return value


def _normalise_locale(value: str) -> str:
    match = _LOCALE.match(value)
    if not match:
        raise ValueError("must be a BCP 47 language tag such as en or pt-BR")
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def whole_number(value: object) -> object:
    """A JSON integer, `3` or `3.0` alike (JSON Schema's `integer`); never a string or a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer (a whole number)")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Input should be a valid integer (a whole number)")
        return int(value)
    return value


TimeZoneName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        examples=["Europe/Paris"],
        description="An IANA time zone.",
        json_schema_extra={"enum": list(TIME_ZONES)},
    ),
    AfterValidator(_check_timezone),
]
Locale = Annotated[
    str,
    Field(
        min_length=2,
        max_length=35,
        examples=["en-GB"],
        description="A BCP 47 language tag.",
        # Published so clients (and generated tests) know the form; checked, with a clearer
        # message, by the validator.
        json_schema_extra={"pattern": _LOCALE.pattern},
    ),
    AfterValidator(_normalise_locale),
]


def _password_length(value: object) -> object:
    if isinstance(value, str) and not 10 <= len(value) <= 1024:
        raise ValueError("must be between 10 and 1024 characters")
    return value


NewPassword = Annotated[
    SecretStr,
    BeforeValidator(_password_length),
    Field(
        description="At least 10 characters, and not your email address.",
        min_length=10,
        max_length=1024,
    ),
]
