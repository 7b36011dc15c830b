"""Opening, in one pass, the sealed values a Core read selected (`encryption_orm.open_value`).

For a hot read that selects the columns of several encrypted models and shows only some of
the rows: the caller lists exactly the values it will show, and they open together.
`open_cached` opens them with the data keys this process holds (`crypto.cache`, which the ORM's
load reads first too), with no database and no session; when one of the keys is not cached,
`open_all` opens them all in one trip into a session's synchronous half, as the ORM would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.core import crypto
from app.core.encryption_orm import open_value

Sealed = tuple[type[Any], str, uuid.UUID, Any]
"""(model, attribute, row id, stored value)."""


def open_cached(values: Sequence[Sealed]) -> list[Any] | None:
    """The plaintext of each value, in order, or None when a data key is not in the cache
    (never wrote, erased, or not read lately): then `open_all` decides."""
    opened: list[Any] = []
    for cls, key, row_id, stored in values:
        if not crypto.is_sealed(stored):
            opened.append(stored)
            continue
        envelope = crypto.parse_envelope(stored)
        data_key = crypto.cache.get(envelope.owner)
        if data_key is None:
            return None
        context = crypto.associated_data(cls.__tablename__, key, row_id)
        if isinstance(stored, bytes):
            opened.append(crypto.open_raw(data_key, envelope, context))
        else:
            opened.append(crypto.open_envelope(data_key, envelope, context))
    return opened


async def open_all(session: AsyncSession, values: Sequence[Sealed]) -> list[Any]:
    """The plaintext of each value, in order, as the ORM's load would have opened it (a
    value whose data key was destroyed opens as "" for a column that is not nullable)."""
    if not any(crypto.is_sealed(stored) for _, _, _, stored in values):
        return [stored for _, _, _, stored in values]

    def work(sync: Session) -> list[Any]:
        return [open_value(sync, cls, key, row_id, stored) for cls, key, row_id, stored in values]

    return await session.run_sync(work)
