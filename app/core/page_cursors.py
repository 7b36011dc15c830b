"""The page cursor: the last row's order keys as JSON, base64url(JSON payload) "." base64url(HMAC),
signed with the application secret and bound to the list's path (see `app.core.pagination`)."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.core.problems import FieldError, UnprocessableContent

_MAC_BYTES = 16


class InvalidCursor(UnprocessableContent):
    slug = "invalid-cursor"
    title = "The cursor is not valid"

    def __init__(self) -> None:
        super().__init__(
            "Use the next_cursor of the previous page of this same list, or no cursor to "
            "start from the first page.",
            errors=[FieldError(parameter="cursor", detail="is not a cursor this list returned")],
        )


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.lru_cache(maxsize=8)
def _mac_key(secret: bytes) -> bytes:
    return hashlib.sha256(b"rapport/page-cursor\x00" + secret).digest()


def _mac(secret: bytes, context: str, payload: str) -> bytes:
    message = context.encode() + b"\x00" + payload.encode("ascii")
    return hmac.new(_mac_key(secret), message, hashlib.sha256).digest()[:_MAC_BYTES]


# What `json.dumps(document, separators=(",", ":"))` builds on every call, built once.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def encode_cursor(keys: Sequence[Any], descending: bool, secret: bytes, context: str) -> str:
    """The cursor after a row whose order keys are `keys`, for the list at `context`."""
    document = ["d" if descending else "a", *(_to_json(value) for value in keys)]
    payload = _b64encode(_COMPACT.encode(document).encode())
    return payload + "." + _b64encode(_mac(secret, context, payload))


def decode_cursor(cursor: str | None, secret: bytes, context: str) -> list[Any]:
    """The JSON document inside a cursor whose signature holds, or InvalidCursor."""
    cursor = cursor or ""
    payload, dot, signature = cursor.partition(".")
    try:
        if not dot or not payload.isascii() or not signature.isascii():
            raise InvalidCursor()
        if not hmac.compare_digest(_b64decode(signature), _mac(secret, context, payload)):
            raise InvalidCursor()
        document = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if not isinstance(document, list) or len(document) < 2 or document[0] not in ("a", "d"):
        raise InvalidCursor()
    return document


def cursor_keys(
    document: list[Any], columns: Sequence[ColumnElement[Any]], descending: bool
) -> list[Any]:
    direction, *values = document
    if direction != ("d" if descending else "a") or len(values) != len(columns):
        raise InvalidCursor()
    try:
        return [
            _from_json(value, _python_type(column.type))
            for value, column in zip(values, columns, strict=True)
        ]
    except (TypeError, ValueError, InvalidOperation):
        raise InvalidCursor() from None


def _python_type(type_: TypeEngine[Any]) -> type[Any] | None:
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    try:
        return type_.python_type
    except NotImplementedError:
        return None


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _from_json(value: Any, python_type: type[Any] | None) -> Any:
    if value is None:
        raise ValueError("order columns are not null")
    if python_type is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("timestamps in cursors are UTC-aware")
        return parsed
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if python_type is Decimal:
        return Decimal(value)
    if python_type is bool:
        if not isinstance(value, bool):
            raise TypeError("expected a boolean")
        return value
    if python_type is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("expected an integer")
        return value
    if python_type is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError("expected a number")
        return float(value)
    if python_type is not None and issubclass(python_type, Enum):
        return python_type(value)
    if python_type is str and not isinstance(value, str):
        raise TypeError("expected a string")
    return value
