"""Constructed histories for the insight tests: a couple's past written straight into the
tables, and reading the couple's insights."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Answer, DailyPrompt, PromptVersion, Reflection, ReflectionKind
from app.models.checkins import CheckIn, Visibility
from app.models.prompts import Category
from tests.conftest import Clock, MakeUser, Person
from tests.factories import pair, publish_library

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
TODAY = date(2026, 6, 15)
SCOPES = ("couple:read", "couple:write", "insights:read")


class History:
    """Writes a couple's past straight into the tables, day by day."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        couple_id: uuid.UUID,
        ann: Person,
        bo: Person,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.couple_id = couple_id
        self.ann, self.bo = ann, bo
        self.versions: dict[tuple[Category, int], PromptVersion] = {}

    async def load_versions(self) -> None:
        async with self.sessionmaker() as session:
            for version in await session.scalars(select(PromptVersion)):
                self.versions.setdefault((version.category, version.depth), version)

    async def revealed_day(
        self,
        day: date,
        category: Category = Category.share,
        depth: int = 1,
        *,
        revealed: bool = True,
    ) -> tuple[Answer, Answer]:
        version = self.versions[(category, depth)]
        moment = datetime(day.year, day.month, day.day, 20, tzinfo=UTC)
        async with self.sessionmaker() as session, session.begin():
            daily = DailyPrompt(
                couple_id=self.couple_id,
                local_date=day,
                prompt_id=version.prompt_id,
                prompt_version_id=version.id,
                assigned_at=moment,
                revealed_at=moment if revealed else None,
            )
            session.add(daily)
            await session.flush()
            answers = tuple(
                Answer(
                    daily_prompt_id=daily.id,
                    couple_id=self.couple_id,
                    user_id=person.id,
                    prompt_version_id=version.id,
                    text="words",
                    revealed_at=moment if revealed else None,
                )
                for person in (self.ann, self.bo)
            )
            session.add_all(answers)
        return answers  # type: ignore[return-value]

    async def checkin(self, person: Person, day: date, mood: int, *, shared: bool) -> CheckIn:
        moment = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        async with self.sessionmaker() as session, session.begin():
            checkin = CheckIn(
                user_id=person.id,
                couple_id=self.couple_id,
                mood=mood,
                emotions=[],
                needs=[],
                note="private words" if not shared else None,
                visibility=Visibility.partner if shared else Visibility.private,
                local_date=day,
                shared_at=moment if shared else None,
                created_at=moment,
                updated_at=moment,
            )
            session.add(checkin)
        return checkin

    async def reflection(self, author: Person, target: Answer | CheckIn, at: datetime) -> None:
        async with self.sessionmaker() as session, session.begin():
            session.add(
                Reflection(
                    target_type="answer" if isinstance(target, Answer) else "checkin",
                    target_id=target.id,
                    couple_id=self.couple_id,
                    author_id=author.id,
                    kind=ReflectionKind.reflect,
                    text="I hear you",
                    created_at=at,
                )
            )


@pytest.fixture
async def setup(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI, clock: Clock
) -> History:
    clock.set(NOW)
    await publish_library(app.state.sessionmaker)
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    couple = await pair(client, ann, bo)
    history = History(app.state.sessionmaker, uuid.UUID(str(couple["id"])), ann, bo)
    await history.load_versions()
    return history


async def insights(
    client: httpx.AsyncClient, person: Person, window: str = "30d"
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/couples/me/insights?window={window}", headers=person.headers(*SCOPES)
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def partner(figures: list[dict[str, Any]], person: Person) -> dict[str, Any]:
    return next(f for f in figures if f["user_id"] == str(person.id))
