"""Couples with a year of history for the benchmark: the starter libraries seeded, then for
each couple 365 past days of daily prompts (and today's) both partners answered and reflected
on, and a check-in a day from each partner, every other one shared.

Written with bulk INSERTs of the models' tables (no service layer: a year for 64 couples
takes seconds this way, against minutes through the API). The rows are what the services
would have written: revealed days carry both answers and `revealed_at`, shared check-ins
their couple and `shared_at`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

HISTORY_DAYS = 365
COUPLES = 64
EMOTIONS: tuple[list[str], ...] = (
    ["mad.frustrated"],
    ["mad.irritated", "mad.impatient"],
    [],
    ["mad.fed_up"],
)
NEEDS: tuple[list[str], ...] = (
    ["connection.reassurance"],
    ["connection.affection"],
    [],
    ["connection.being_heard"],
)


@dataclass
class Couples:
    """The partners (first of each couple, then second) and their couples, in order."""

    first: list[uuid.UUID] = field(default_factory=list)
    second: list[uuid.UUID] = field(default_factory=list)
    couples: list[uuid.UUID] = field(default_factory=list)

    @property
    def members(self) -> list[uuid.UUID]:
        """Both partners of every couple, interleaved: requests rotate over the couples."""
        return [person for pair in zip(self.first, self.second, strict=True) for person in pair]


async def _live_versions(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    from app.models.prompts import PromptLibrary, PromptVersion

    rows = await session.execute(
        select(PromptVersion.prompt_id, PromptVersion.id)
        .join(PromptLibrary, PromptLibrary.id == PromptVersion.library_id)
        .where(PromptVersion.is_live.is_(True), PromptLibrary.opt_in.is_(False))
        .order_by(PromptVersion.id)
    )
    return [(prompt_id, version_id) for prompt_id, version_id in rows]


def _users(count: int, password_hash: str, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "email": f"partner{n}@example.org",
            "email_normalized": f"partner{n}@example.org",
            "password_hash": password_hash,
            "display_name": f"Partner {n}",
            "timezone": "UTC",
            "locale": "en",
            "role": "member",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]


def _days(
    couple_id: uuid.UUID,
    pair: tuple[uuid.UUID, uuid.UUID],
    versions: list[tuple[uuid.UUID, uuid.UUID]],
    today: date,
    offset: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    days: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    reflections: list[dict[str, Any]] = []
    for back in range(HISTORY_DAYS, -1, -1):  # today included: the home screen after both answered
        day = today - timedelta(days=back)
        at = datetime.combine(day, time(8), tzinfo=UTC)
        prompt_id, version_id = versions[(offset + back) % len(versions)]
        day_id = uuid.uuid4()
        revealed = at + timedelta(hours=12)
        days.append(
            {
                "id": day_id,
                "couple_id": couple_id,
                "local_date": day,
                "prompt_id": prompt_id,
                "prompt_version_id": version_id,
                "cycle": 1 + (HISTORY_DAYS - back) // len(versions),
                "assigned_at": at,
                "revealed_at": revealed,
            }
        )
        for n, (author, reader) in enumerate((pair, pair[::-1])):
            answer_id = uuid.uuid4()
            written = at + timedelta(hours=1 + n)
            answers.append(
                {
                    "id": answer_id,
                    "daily_prompt_id": day_id,
                    "couple_id": couple_id,
                    "user_id": author,
                    "prompt_version_id": version_id,
                    "text": f"An answer of a few honest sentences, day {back}, partner {n}. " * 3,
                    "revealed_at": revealed,
                    "created_at": written,
                    "updated_at": written,
                }
            )
            reflections.append(
                {
                    "id": uuid.uuid4(),
                    "target_type": "answer",
                    "target_id": answer_id,
                    "couple_id": couple_id,
                    "author_id": reader,
                    "kind": "reflect",
                    "text": "What I hear is that this day mattered to you.",
                    "created_at": revealed + timedelta(minutes=10 + n),
                }
            )
    return days, answers, reflections


def _checkins(
    person: uuid.UUID, couple_id: uuid.UUID, today: date, hour: int
) -> list[dict[str, Any]]:
    rows = []
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        at = datetime.combine(day, time(hour), tzinfo=UTC)
        shared = back % 2 == 0
        rows.append(
            {
                "id": uuid.uuid4(),
                "user_id": person,
                "couple_id": couple_id,
                "mood": 1 + back % 5,
                "emotions": EMOTIONS[back % len(EMOTIONS)],
                "needs": NEEDS[back % len(NEEDS)],
                "note": f"Check-in note for day {back}: a long day, and some good moments.",
                "request": "A walk together tonight?" if back % 3 == 0 else None,
                "visibility": "partner" if shared else "private",
                "local_date": day,
                "shared_at": at if shared else None,
                "created_at": at,
                "updated_at": at,
            }
        )
    return rows


async def _insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        await session.execute(insert(table), rows[start : start + 5000])


async def populate_couples(session: AsyncSession, password_hash: str) -> Couples:
    """Seed the starter libraries, then COUPLES couples with a year of history each."""
    from app.models.answers import Answer, DailyPrompt, Reflection
    from app.models.checkins import CheckIn
    from app.models.couples import Couple, CoupleMember
    from app.models.users import User
    from app.services.seed import seed

    await seed(session)
    versions = await _live_versions(session)
    if not versions:
        raise RuntimeError("the starter libraries hold no live prompt")
    now = datetime.now(UTC)
    today = now.date()
    users = _users(2 * COUPLES, password_hash, now - timedelta(days=HISTORY_DAYS + 1))
    await _insert(session, User.__table__, users)
    result = Couples()
    couples, members, days, answers, reflections, checkins = [], [], [], [], [], []
    for n in range(COUPLES):
        first, second = users[2 * n]["id"], users[2 * n + 1]["id"]
        couple_id = uuid.uuid4()
        since = now - timedelta(days=HISTORY_DAYS + 1)
        couples.append(
            {
                "id": couple_id,
                "status": "active",
                "created_by": first,
                "timezone": "UTC",
                "locale": "en",
                "enabled_libraries": [],
                "max_depth": 3,
                "created_at": since,
                "updated_at": since,
            }
        )
        for person in (first, second):
            members.append(
                {
                    "id": uuid.uuid4(),
                    "couple_id": couple_id,
                    "user_id": person,
                    "active_user_id": person,
                    "joined_at": since,
                }
            )
        d, a, r = _days(couple_id, (first, second), versions, today, n)
        days += d
        answers += a
        reflections += r
        checkins += _checkins(first, couple_id, today, 9) + _checkins(second, couple_id, today, 10)
        result.first.append(first)
        result.second.append(second)
        result.couples.append(couple_id)
    await _insert(session, Couple.__table__, couples)
    await _insert(session, CoupleMember.__table__, members)
    await _insert(session, DailyPrompt.__table__, days)
    await _insert(session, Answer.__table__, answers)
    await _insert(session, Reflection.__table__, reflections)
    await _insert(session, CheckIn.__table__, checkins)
    return result
