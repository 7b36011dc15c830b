"""What the journal and check-in routers share: the session for reading private writing.

A read of private writing through a third-party app writes one access-log row in the
request's own transaction, so such a request needs a writing session; every other read keeps
the cheap reading one. Which one is decided from the token alone
(`private_writing.may_need_logging`). This module defines no route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Member, Scope, member
from app.db import get_session, get_write_session
from app.services.private_writing import may_need_logging


def private_reading_session(scope: Scope) -> Any:
    """`session: Annotated[AsyncSession, private_reading_session(Scope.x)]`, for a route whose
    caller is `member(Scope.x)` (the same dependency, so the token is checked once)."""

    async def open_session(
        request: Request, me: Member = member(scope)
    ) -> AsyncIterator[AsyncSession]:
        opener = get_write_session if may_need_logging(me) else get_session
        async for session in opener(request):
            yield session

    return Depends(open_session, scope="function")


JournalReadSession = Annotated[AsyncSession, private_reading_session(Scope.journal_read)]
CheckInReadSession = Annotated[AsyncSession, private_reading_session(Scope.checkins_read)]
