"""Opening, in one pass, the sealed values a Core read selected (`encryption_orm.open_value`).

For a hot read that selects the columns of several encrypted models and shows only some of
the rows: the caller lists exactly the values it will show, and they open together, in one
trip into the session's synchronous half (none when no value is sealed).
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


async def open_all(session: AsyncSession, values: Sequence[Sealed]) -> list[Any]:
    """The plaintext of each value, in order, as the ORM's load would have opened it (a
    value whose data key was destroyed opens as "" for a column that is not nullable)."""
    if not any(crypto.is_sealed(stored) for _, _, _, stored in values):
        return [stored for _, _, _, stored in values]

    def work(sync: Session) -> list[Any]:
        return [open_value(sync, cls, key, row_id, stored) for cls, key, row_id, stored in values]

    return await session.run_sync(work)
