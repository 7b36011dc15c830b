"""Streaming pieces of the export archive: paging through rows with one page in memory at a
time, and writing a list item by item to the sink (`exports_archive`, `exports_conversations`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.models.couples import Couple, CoupleMember, CoupleStatus

PAGE_SIZE = 200
T = TypeVar("T")


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


async def pages(
    session: AsyncSession, fetch: Callable[[PageQuery], Awaitable[Window[T]]]
) -> AsyncIterator[T]:
    """Every item of a paginated list, one page in memory at a time."""
    params = PageQuery(limit=PAGE_SIZE, secret=b"rapport/export", context="export")
    while True:
        window = await fetch(params)
        for item in window.items:
            yield item
        session.expunge_all()  # the identity map must not grow with the account
        if window.next_cursor is None:
            return
        params = PageQuery(
            limit=PAGE_SIZE, cursor=window.next_cursor, secret=params.secret, context="export"
        )


def rows(session: AsyncSession, statement: Select[Any], order: Iterable[Any]) -> AsyncIterator[Any]:
    """`pages` over a plain statement, oldest first."""
    ordering = tuple(order)

    async def fetch(params: PageQuery) -> Window[Any]:
        return await paginate(session, statement, order=ordering, params=params)

    return pages(session, fetch)


async def write_list(sink: Sink, models: AsyncIterator[BaseModel]) -> None:
    sink.write(b"[")
    first = True
    async for model in models:
        sink.write((b"" if first else b",") + model.model_dump_json().encode())
        first = False
    sink.write(b"]")


async def in_couple_now(session: AsyncSession, user_id: uuid.UUID, couple_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(CoupleMember.id)
        .join(Couple, Couple.id == CoupleMember.couple_id)
        .where(
            CoupleMember.couple_id == couple_id,
            CoupleMember.active_user_id == user_id,
            Couple.status == CoupleStatus.active,
        )
    )
    return found is not None
