"""Test clocks (development and test environments only; not in the published schema)."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, Field

from app.schemas.common import UtcDateTime


class TestClockCreate(BaseModel):
    __test__ = False
    frozen_time: AwareDatetime = Field(description="The instant the clock stands at, with offset.")
    name: str | None = Field(default=None, max_length=100)


class TestClockAdvance(BaseModel):
    __test__ = False
    frozen_time: AwareDatetime = Field(description="A later instant than the clock's current one.")


class TestClockAttach(BaseModel):
    __test__ = False
    couple_id: uuid.UUID = Field(description="A couple you are an active member of.")


class TestClockOut(BaseModel):
    __test__ = False
    id: uuid.UUID
    name: str | None
    frozen_time: UtcDateTime
    created_at: UtcDateTime
    couples: list[uuid.UUID] = Field(description="The couples living at this clock's time.")
