"""The private journal: entries only their author reads, and the patterns in them.

There is no path to an entry but its author's: every query is filtered on the author, no
event is written (the event feed reaches webhooks and other devices), and no admin or client
operation reads these tables. The author reads through Rapport's own apps, or through a
third-party app holding `journal:read`; every such third-party read (entries, tags,
patterns) is written to the author's access log (`services/private_writing.py`).

Tags and emotions are also kept a row each in `JournalLabel`, so counting them over a window
is a plain, portable GROUP BY.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import NotFound
from app.core.security import Member
from app.models.access_log import PrivateKind
from app.models.journal import JournalEntry, JournalLabel, LabelKind
from app.models.users import User
from app.schemas.journal import JournalEntryIn, JournalEntryUpdate
from app.schemas.journal import Trend as Direction
from app.services.private_writing import PrivateReader, resolve
from app.services.vocabularies import check_terms, distinct


class JournalEntryNotFound(NotFound):
    slug = "journal-entry-not-found"
    title = "Journal entry not found"


@dataclass(frozen=True, slots=True)
class LabelCount:
    value: str
    count: int
    last_used: date


@dataclass(frozen=True, slots=True)
class Trend:
    value: str
    count: int
    previous_count: int

    @property
    def trend(self) -> Direction:
        if self.count > self.previous_count:
            return Direction.up
        if self.count < self.previous_count:
            return Direction.down
        return Direction.steady


@dataclass(frozen=True, slots=True)
class Patterns:
    window_days: int
    start: date
    end: date
    previous_start: date
    previous_end: date
    entries: int
    previous_entries: int
    tags: list[Trend]
    emotions: list[Trend]


async def _today(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> date:
    timezone = await session.scalar(select(User.timezone).where(User.id == user_id))
    if timezone is None:
        raise NotFound("This account no longer exists.")
    return now.astimezone(ZoneInfo(timezone)).date()


def _labels(entry: JournalEntry) -> list[JournalLabel]:
    return [
        JournalLabel(
            entry_id=entry.id,
            user_id=entry.user_id,
            kind=kind,
            value=value,
            local_date=entry.local_date,
        )
        for kind, values in (
            (LabelKind.tag, entry.pattern_tags),
            (LabelKind.emotion, entry.emotions),
        )
        for value in values
    ]


async def create_entry(
    session: AsyncSession, me: Member, data: JournalEntryIn, now: datetime
) -> JournalEntry:
    check_terms(emotions=data.emotions)
    entry = JournalEntry(
        user_id=me.user_id,
        body=data.body,
        pattern_tags=data.pattern_tags,
        emotions=distinct(data.emotions),
        local_date=await _today(session, me.user_id, now),
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    await session.flush()
    session.add_all(_labels(entry))
    await session.flush()
    return entry


async def _reader(session: AsyncSession, me: Member) -> PrivateReader:
    """The caller, who must be able to read the journal: an app without `journal:read`
    learns nothing of it (the routes already ask for the scope; this holds for any caller)."""
    reader = await resolve(session, me)
    if not reader.may_read(PrivateKind.journal_entry):
        raise JournalEntryNotFound("This app may not read your journal.")
    return reader


async def _find(session: AsyncSession, me: Member, entry_id: uuid.UUID) -> JournalEntry:
    entry = await session.scalar(
        select(JournalEntry).where(JournalEntry.id == entry_id, JournalEntry.user_id == me.user_id)
    )
    if entry is None:
        raise JournalEntryNotFound("You have no journal entry with this id.")
    return entry


async def get_entry(session: AsyncSession, me: Member, entry_id: uuid.UUID) -> JournalEntry:
    reader = await _reader(session, me)
    entry = await _find(session, me, entry_id)
    await reader.record(session, PrivateKind.journal_entry, 1, "journal_get")
    return entry


async def get_entry_to_change(
    session: AsyncSession, me: Member, entry_id: uuid.UUID
) -> JournalEntry:
    """The author's entry, to change or delete it: only through an app that may read the
    journal, since a change's response shows the entry."""
    await _reader(session, me)
    return await _find(session, me, entry_id)


async def update_entry(
    session: AsyncSession, entry: JournalEntry, data: JournalEntryUpdate, now: datetime
) -> JournalEntry:
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "emotions" in changes:
        check_terms(emotions=changes["emotions"])
        changes["emotions"] = distinct(changes["emotions"])
    changes = {name: value for name, value in changes.items() if getattr(entry, name) != value}
    if not changes:
        return entry
    for name, value in changes.items():
        setattr(entry, name, value)
    entry.updated_at = now
    if "pattern_tags" in changes or "emotions" in changes:
        await session.execute(delete(JournalLabel).where(JournalLabel.entry_id == entry.id))
        session.add_all(_labels(entry))
    await session.flush()
    return entry


async def delete_entry(session: AsyncSession, entry: JournalEntry) -> None:
    """Delete for good: the entry and every label of it."""
    await session.execute(delete(JournalLabel).where(JournalLabel.entry_id == entry.id))
    await session.delete(entry)
    await session.flush()


async def list_entries(
    session: AsyncSession,
    me: Member,
    params: PageQuery,
    *,
    tag: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Window[JournalEntry]:
    reader = await _reader(session, me)
    user_id = me.user_id
    conditions: list[ColumnElement[bool]] = [JournalEntry.user_id == user_id]
    if tag is not None:
        conditions.append(
            JournalEntry.id.in_(
                select(JournalLabel.entry_id).where(
                    JournalLabel.user_id == user_id,
                    JournalLabel.kind == LabelKind.tag,
                    JournalLabel.value == tag,
                )
            )
        )
    if since is not None:
        conditions.append(JournalEntry.local_date >= since)
    if until is not None:
        conditions.append(JournalEntry.local_date <= until)
    window = await paginate(
        session,
        select(JournalEntry).where(*conditions),
        order=(JournalEntry.created_at, JournalEntry.id),
        params=params,
        descending=True,
    )
    await reader.record(session, PrivateKind.journal_entry, len(window.items), "journal_list")
    return window


async def list_tags(
    session: AsyncSession, me: Member, *, prefix: str | None = None, limit: int = 50
) -> list[LabelCount]:
    """The author's tags, most used first, for autocomplete."""
    reader = await _reader(session, me)
    count = func.count()
    statement = (
        select(JournalLabel.value, count, func.max(JournalLabel.local_date))
        .where(JournalLabel.user_id == me.user_id, JournalLabel.kind == LabelKind.tag)
        .group_by(JournalLabel.value)
        .order_by(count.desc(), JournalLabel.value)
        .limit(limit)
    )
    if prefix:
        statement = statement.where(JournalLabel.value.startswith(prefix, autoescape=True))
    rows = await session.execute(statement)
    tags = [LabelCount(value=value, count=n, last_used=last) for value, n, last in rows]
    await reader.record(session, PrivateKind.journal_entry, len(tags), "journal_tags_list")
    return tags


async def patterns(
    session: AsyncSession, me: Member, days: int, now: datetime, *, limit: int = 10
) -> Patterns:
    """Counts of tags and emotions in the `days` ending today, and in the `days` before."""
    reader = await _reader(session, me)
    user_id = me.user_id
    end = await _today(session, user_id, now)
    start = end - timedelta(days=days - 1)
    previous_start = start - timedelta(days=days)

    def split(column: InstrumentedAttribute[date]) -> tuple[ColumnElement[int], ColumnElement[int]]:
        current = func.coalesce(func.sum(case((column >= start, 1), else_=0)), 0)
        previous = func.coalesce(func.sum(case((column < start, 1), else_=0)), 0)
        return current, previous

    label_current, label_previous = split(JournalLabel.local_date)
    rows = await session.execute(
        select(JournalLabel.kind, JournalLabel.value, label_current, label_previous)
        .where(
            JournalLabel.user_id == user_id,
            JournalLabel.local_date >= previous_start,
            JournalLabel.local_date <= end,
        )
        .group_by(JournalLabel.kind, JournalLabel.value)
    )
    trends: dict[LabelKind, list[Trend]] = {LabelKind.tag: [], LabelKind.emotion: []}
    for kind, value, current, previous in rows:
        trends[kind].append(Trend(value=value, count=int(current), previous_count=int(previous)))
    entry_current, entry_previous = split(JournalEntry.local_date)
    entries = (
        await session.execute(
            select(entry_current, entry_previous).where(
                JournalEntry.user_id == user_id,
                JournalEntry.local_date >= previous_start,
                JournalEntry.local_date <= end,
            )
        )
    ).one()

    def top(items: list[Trend]) -> list[Trend]:
        # Most frequent now first; among equals, what was more frequent before (a pattern
        # fading away still shows, after the live ones).
        return sorted(items, key=lambda t: (-t.count, -t.previous_count, t.value))[:limit]

    counted = int(entries[0]) + int(entries[1])
    await reader.record(session, PrivateKind.journal_entry, counted, "journal_patterns_get")
    return Patterns(
        window_days=days,
        start=start,
        end=end,
        previous_start=previous_start,
        previous_end=start - timedelta(days=1),
        entries=int(entries[0]),
        previous_entries=int(entries[1]),
        tags=top(trends[LabelKind.tag]),
        emotions=top(trends[LabelKind.emotion]),
    )
