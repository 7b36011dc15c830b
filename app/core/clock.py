"""The current time as a dependency, so tests can stand at any instant (midnight in Kiribati)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request


async def current_time(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    # Development and test only: the caller's couple may live at a test clock's time
    # (app/routers/test_clocks.py installs the reader; production never has one).
    reader = getattr(request.app.state, "test_clock_reader", None)
    if reader is not None:
        frozen: datetime | None = await reader(request)
        if frozen is not None:
            return frozen
    return now


Now = Annotated[datetime, Depends(current_time)]
