"""Cursor (keyset) pagination: `?limit=&cursor=` → `{"data", "next_cursor", "has_more"}`.

A router takes `params: PageParams`, a service runs `window = await paginate(session,
statement, order=(Model.created_at, Model.id), params=params)`, and the router answers
`Page[ModelOut].of(window, ModelOut.model_validate)` (published as `ModelPage`).

Pages seek past the last row seen (`WHERE key > last`) instead of skipping rows (`OFFSET`),
so a page costs one indexed query whatever its depth, and rows inserted meanwhile neither
repeat nor push unseen rows out of reach. No `count(*)`: `has_more` comes from fetching
one row more than asked for.

The cursor is opaque: the last row's order keys as JSON, base64url-encoded and signed with
an HMAC of the application secret bound to the list's path, so a client can neither forge
nor edit one, nor carry one over to another list. A bad cursor is a 422 problem (so is
every outstanding cursor after `RAPPORT_SECRET_KEY` changes: clients start over).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.core.problems import FieldError, UnprocessableContent

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 1024
_MAC_BYTES = 16

T = TypeVar("T")
M = TypeVar("M")


class InvalidCursor(UnprocessableContent):
    slug = "invalid-cursor"
    title = "The cursor is not valid"

    def __init__(self) -> None:
        super().__init__(
            "Use the next_cursor of the previous page of this same list, or no cursor to "
            "start from the first page.",
            errors=[FieldError(parameter="cursor", detail="is not a cursor this list returned")],
        )


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What page a caller asks for; plain data, so services take it outside HTTP too."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    secret: bytes = b""
    """Signs and verifies cursors."""
    context: str = ""
    """What the cursor is bound to: the list's path."""


async def page_query(
    request: Request,
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"How many items to return: 1 to {MAX_LIMIT}; larger values get "
            f"{MAX_LIMIT}.",
        ),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR_LENGTH,
            description="The `next_cursor` of the previous page; omit it for the first page.",
        ),
    ] = None,
) -> PageQuery:
    params = PageQuery(
        limit=min(limit, MAX_LIMIT),
        cursor=cursor,
        secret=request.app.state.settings.secret_key.encode(),
        context=request.url.path,
    )
    if cursor is not None:
        _decode(params)  # refuse a bad cursor before any work is done
    return params


PageParams = Annotated[PageQuery, Depends(page_query)]


class Page(BaseModel, Generic[T]):
    """One page of a list, and the cursor of the next one."""

    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    has_more: bool = Field(description="Whether another page follows.")

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        # `UserOut` → `UserPage` in the schema, rather than pydantic's `Page[UserOut]`.
        return str(getattr(params[0], "__name__", params[0])).removesuffix("Out") + "Page"

    @classmethod
    def of(cls, window: Window[M], convert: Callable[[M], T]) -> Page[T]:
        return cls(
            data=[convert(item) for item in window.items],
            next_cursor=window.next_cursor,
            has_more=window.has_more,
        )


@dataclass(frozen=True, slots=True)
class Window(Generic[M]):
    """What `paginate` found: the rows of one page and where the next one starts."""

    items: list[M]
    next_cursor: str | None
    has_more: bool


async def paginate(
    session: AsyncSession,
    statement: Select[M],
    *,
    order: Sequence[ColumnElement[Any] | Any],
    params: PageQuery,
    descending: bool = False,
) -> Window[M]:
    """Run `statement` (selecting one entity or column) for the page `params` asks for.

    `order` is a total order: non-null columns whose last one is unique, e.g.
    `(Event.seq,)` or `(Model.created_at, Model.id)`, ideally backed by an index.
    Any ORDER BY or LIMIT already on `statement` is replaced.
    """
    columns: list[ColumnElement[Any]] = [_as_column(c) for c in order]
    if not columns:
        raise ValueError("paginate needs at least one order column")
    if params.cursor is not None:
        after = _coerce_keys(_decode(params), columns, descending)
        statement = statement.where(_seek(columns, after, descending))
    keyed = (
        statement.order_by(None)
        .order_by(*(c.desc() if descending else c.asc() for c in columns))
        .limit(params.limit + 1)
        .add_columns(*(c.label(f"_page_key_{i}") for i, c in enumerate(columns)))
    )
    rows = (await session.execute(keyed)).all()
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = _encode(params, tuple(rows[-1])[1:], descending) if has_more else None
    return Window(items=[row[0] for row in rows], next_cursor=next_cursor, has_more=has_more)


def _as_column(value: Any) -> ColumnElement[Any]:
    element = value.__clause_element__() if hasattr(value, "__clause_element__") else value
    if not isinstance(element, ColumnElement):
        raise TypeError(f"{value!r} is not a column")
    return element


def _seek(
    columns: Sequence[ColumnElement[Any]], after: Sequence[Any], descending: bool
) -> ColumnElement[bool]:
    """(a, b, c) > (x, y, z), spelled without row values so that every engine and SQLAlchemy
    dialect compiles it alike: a > x OR (a = x AND b > y) OR (a = x AND b = y AND c > z).
    """

    def beyond(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        comparison: ColumnElement[bool] = column < value if descending else column > value
        return comparison

    branches = [
        and_(*(columns[j] == after[j] for j in range(i)), beyond(columns[i], after[i]))
        for i in range(len(columns))
    ]
    if len(columns) == 1:
        return branches[0]
    # The redundant bound on the leading column lets both engines range-scan its index.
    leading: ColumnElement[bool] = columns[0] <= after[0] if descending else columns[0] >= after[0]
    return and_(leading, or_(*branches))


# --- the cursor: base64url(JSON payload) "." base64url(HMAC) ---------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(params: PageQuery, payload: str) -> bytes:
    key = hashlib.sha256(b"rapport/page-cursor\x00" + params.secret).digest()
    message = params.context.encode() + b"\x00" + payload.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _encode(params: PageQuery, keys: Sequence[Any], descending: bool) -> str:
    document = ["d" if descending else "a", *(_to_json(value) for value in keys)]
    payload = _b64encode(json.dumps(document, separators=(",", ":")).encode())
    return payload + "." + _b64encode(_mac(params, payload))


def _decode(params: PageQuery) -> list[Any]:
    """The JSON document inside a cursor whose signature holds, or InvalidCursor."""
    cursor = params.cursor or ""
    payload, dot, signature = cursor.partition(".")
    try:
        if not dot or not payload.isascii() or not signature.isascii():
            raise InvalidCursor()
        if not hmac.compare_digest(_b64decode(signature), _mac(params, payload)):
            raise InvalidCursor()
        document = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if not isinstance(document, list) or len(document) < 2 or document[0] not in ("a", "d"):
        raise InvalidCursor()
    return document


def _coerce_keys(
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


_GENERATED_PAGE_NAME = re.compile(r"^Page_([A-Za-z][A-Za-z0-9]*)_$")


def name_page_schemas(schema: dict[str, Any]) -> None:
    """Publish `Page[UserOut]` as `UserPage` rather than pydantic's `Page_UserOut_`."""
    components: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    renamed: dict[str, str] = {}
    for name in list(components):
        match = _GENERATED_PAGE_NAME.match(name)
        new_name = match.group(1).removesuffix("Out") + "Page" if match else None
        if new_name and new_name not in components:
            components[new_name] = components.pop(name)
            renamed[f"#/components/schemas/{name}"] = f"#/components/schemas/{new_name}"
    if renamed:
        _rewrite_refs(schema, renamed)


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renamed:
            node["$ref"] = renamed[ref]
        for value in node.values():
            _rewrite_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renamed)


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "InvalidCursor",
    "Page",
    "PageParams",
    "PageQuery",
    "Window",
    "name_page_schemas",
    "page_query",
    "paginate",
]
