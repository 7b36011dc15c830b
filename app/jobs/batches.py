"""Deleting in bounded batches: each batch is its own short transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete
from sqlalchemy.orm import InstrumentedAttribute

from app.jobs.context import JobContext


async def delete_in_batches(
    context: JobContext,
    model: type[Any],
    key: InstrumentedAttribute[Any],
    due: Select[Any],
) -> int:
    """Delete the rows whose `key` `due` selects, `batch_size` at a time; how many went.

    `due` is evaluated afresh for every batch, so rows that stopped being due meanwhile
    stay, and a run that dies half-way leaves nothing inconsistent: the next run goes on.
    """
    total = 0
    while True:
        async with context.sessionmaker() as session, session.begin():
            batch = list(await session.scalars(due.limit(context.batch_size)))
            if batch:
                await session.execute(
                    delete(model).where(key.in_(batch)).execution_options(synchronize_session=False)
                )
        total += len(batch)
        if len(batch) < context.batch_size:
            return total
