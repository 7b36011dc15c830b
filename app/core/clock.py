"""The current time as a dependency, so tests can stand at any instant (midnight in Kiribati)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request


async def current_time(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


Now = Annotated[datetime, Depends(current_time)]
