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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Integer, Select, and_, bindparam, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.core.hot_reads import HotQuery, HotReader
from app.core.page_cursors import InvalidCursor, cursor_keys, decode_cursor, encode_cursor

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 1024

T = TypeVar("T")
M = TypeVar("M")


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
        context=request.scope["path"],  # `request.url.path`, without building the URL
    )
    if cursor is not None:
        decode_cursor(cursor, params.secret, params.context)  # refuse a bad one at once
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
    columns = _order_columns(order)
    if params.cursor is not None:
        after = _keys_after(params, columns, descending)
        statement = statement.where(_seek(columns, after, descending))
    keyed = _keyed(statement, columns, descending).limit(params.limit + 1)
    rows = (await session.execute(keyed)).all()
    return _window(params, rows, descending)


class PagedSelect(Generic[M]):
    """`paginate` for a hot list: the statements of a first page and of a following page
    are built once (at import), and a request only binds its values.

    `statement` names its request values as `bindparam`s; `run` takes them as keywords.
    Building a statement and its cache key costs about as much CPU as running it."""

    def __init__(
        self,
        statement: Select[M],
        *,
        order: Sequence[ColumnElement[Any] | Any],
        descending: bool = False,
    ) -> None:
        self._columns = _order_columns(order)
        self._descending = descending
        limit = bindparam("_page_limit", type_=Integer())
        after = [
            bindparam(f"_page_after_{i}", type_=column.type)
            for i, column in enumerate(self._columns)
        ]
        self._first = _keyed(statement, self._columns, descending).limit(limit)
        self._following = _keyed(
            statement.where(_seek(self._columns, after, descending)), self._columns, descending
        ).limit(limit)

    def _bound(self, params: PageQuery, values: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The values to bind, and whether the page follows a cursor (else it is the first)."""
        bound = {**values, "_page_limit": params.limit + 1}
        if params.cursor is None:
            return bound, False
        after = _keys_after(params, self._columns, self._descending)
        bound.update({f"_page_after_{i}": value for i, value in enumerate(after)})
        return bound, True

    async def run(self, session: AsyncSession, params: PageQuery, **values: Any) -> Window[M]:
        bound, following = self._bound(params, values)
        statement = self._following if following else self._first
        rows = (await session.execute(statement, bound)).all()
        return _window(params, rows, self._descending)

    async def run_hot(
        self, reader: HotReader, params: PageQuery, **values: Any
    ) -> Window[Mapping[str, Any]]:
        """`run` with no session (`HotReader.all`), for a statement selecting columns: each
        item is a row read by column name (the order keys ride along as `_page_key_<i>`)."""
        bound, following = self._bound(params, values)
        query = self._hot_following if following else self._hot_first
        rows = await reader.all(query, **bound)
        has_more = len(rows) > params.limit
        rows = rows[: params.limit]
        next_cursor = None
        if has_more:
            keys = [rows[-1][f"_page_key_{i}"] for i in range(len(self._columns))]
            next_cursor = _cursor_after(params, keys, self._descending)
        return Window(items=list(rows), next_cursor=next_cursor, has_more=has_more)

    @cached_property
    def _hot_first(self) -> HotQuery:
        return HotQuery(self._first)

    @cached_property
    def _hot_following(self) -> HotQuery:
        return HotQuery(self._following)


def _order_columns(order: Sequence[ColumnElement[Any] | Any]) -> list[ColumnElement[Any]]:
    columns: list[ColumnElement[Any]] = [_as_column(c) for c in order]
    if not columns:
        raise ValueError("paginate needs at least one order column")
    return columns


def _keyed(
    statement: Select[M], columns: Sequence[ColumnElement[Any]], descending: bool
) -> Select[M]:
    """Ordered by `columns`, which are also selected (labelled) for the next cursor."""
    return (
        statement.order_by(None)
        .order_by(*(c.desc() if descending else c.asc() for c in columns))
        .add_columns(*(c.label(f"_page_key_{i}") for i, c in enumerate(columns)))
    )


def _window(params: PageQuery, rows: Sequence[Any], descending: bool) -> Window[Any]:
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = _cursor_after(params, tuple(rows[-1])[1:], descending) if has_more else None
    return Window(items=[row[0] for row in rows], next_cursor=next_cursor, has_more=has_more)


def _keys_after(
    params: PageQuery, columns: Sequence[ColumnElement[Any]], descending: bool
) -> list[Any]:
    document = decode_cursor(params.cursor, params.secret, params.context)
    return cursor_keys(document, columns, descending)


def _cursor_after(params: PageQuery, keys: Sequence[Any], descending: bool) -> str:
    return encode_cursor(keys, descending, params.secret, params.context)


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
