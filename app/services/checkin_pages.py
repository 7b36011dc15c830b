"""The lists of check-ins, read hot: every app lists the couple's on every screen.

The rules are those of `services/checkins.py` (whose `list_mine` the exports still read
through the ORM): my own check-ins, the private ones only for a caller who may read them, and
in the couple's list those my partner shared in my current couple, newest first; a
third-party app's read of my private ones is written to my access log, in the request's
transaction.

What is cheaper here: the page is one SELECT of columns on the driver's connection
(`PagedSelect.run_hot`: no session, no ORM entity), the sealed note and request open in one
pass (`SealedColumns`), and the page is written straight to the JSON bytes `Page[CheckInOut]`
would write (tests/test_checkin_pages.py holds the two alike, field for field).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from typing import cast as typing_cast

from pydantic_core import to_json
from sqlalchemy import (
    BindParameter,
    Date,
    Select,
    Text,
    bindparam,
    cast,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.core.encryption_orm import encrypted_fields
from app.core.hot_reads import HotQuery, HotReader
from app.core.pagination import PagedSelect, PageQuery, Window
from app.core.sealed_columns import SealedColumns
from app.core.security import Member
from app.models.access_log import PrivateKind
from app.models.checkins import EDIT_WINDOW, CheckIn, Visibility
from app.models.couples import CoupleMember
from app.models.oauth import OAuthClient
from app.services.checkins import active_couple_of
from app.services.clients import FIRST_PARTY_CLIENT_ID
from app.services.couples import NoCouple
from app.services.private_writing import PrivateReader, resolve

# The JSON lists of vocabulary keys are read as their text and decoded here (`_keys`): a
# closed vocabulary, so the same few texts come back on every page.
_EMOTIONS = cast(CheckIn.emotions, Text).label("emotions")
_NEEDS = cast(CheckIn.needs, Text).label("needs")
# `CheckInOut`'s fields, in its order, but the derived `editable_until`.
ITEM_COLUMNS = (
    CheckIn.id,
    CheckIn.user_id,
    CheckIn.couple_id,
    CheckIn.mood,
    _EMOTIONS,
    _NEEDS,
    CheckIn.note,
    CheckIn.request,
    CheckIn.visibility,
    CheckIn.local_date,
    CheckIn.created_at,
    CheckIn.updated_at,
    CheckIn.shared_at,
)
FIELDS = tuple(column.key for column in ITEM_COLUMNS)
_SEALED = SealedColumns(CheckIn.__table__, tuple(encrypted_fields(CheckIn)))  # type: ignore[arg-type]
# A hot query binds only named values: the constant is written into the statement.
_SHARED: ColumnElement[str] = literal_column(f"'{Visibility.partner.value}'")


def _couple_page(own_private: bool) -> PagedSelect[Any]:
    """`checkins.visible_to` within my current couple."""
    me: BindParameter[uuid.UUID] = bindparam("me")
    shared = CheckIn.visibility == _SHARED
    statement = select(*ITEM_COLUMNS).where(
        CheckIn.couple_id == active_couple_of(me),
        or_(CheckIn.user_id == me, shared) if own_private else shared,
    )
    return PagedSelect(
        typing_cast("Select[Any]", statement),  # rows of several columns
        order=(CheckIn.created_at, CheckIn.id),
        descending=True,
    )


_COUPLE_PAGES = {own_private: _couple_page(own_private) for own_private in (True, False)}


@functools.cache
def _my_page(own_private: bool, since: bool, until: bool) -> PagedSelect[Any]:
    """`checkins.list_mine`'s statement, for each combination of its bounds (built once)."""
    me: BindParameter[uuid.UUID] = bindparam("me")
    conditions: list[ColumnElement[bool]] = [CheckIn.user_id == me]
    if not own_private:
        conditions.append(CheckIn.visibility == _SHARED)
    if since:
        conditions.append(CheckIn.local_date >= bindparam("since", type_=Date()))
    if until:
        conditions.append(CheckIn.local_date <= bindparam("until", type_=Date()))
    return PagedSelect(
        typing_cast("Select[Any]", select(*ITEM_COLUMNS).where(*conditions)),
        order=(CheckIn.created_at, CheckIn.id),
        descending=True,
    )


_IN_A_COUPLE = HotQuery(
    select(CoupleMember.couple_id).where(CoupleMember.active_user_id == bindparam("me"))
)
# `clients.is_first_party`, for a caller without a session.
_FIRST_PARTY = HotQuery(
    select(OAuthClient.is_first_party).where(
        OAuthClient.client_id == bindparam("client_id"), OAuthClient.disabled_at.is_(None)
    )
)


async def _on_the_log(reader: HotReader, log: AsyncSession | None) -> HotReader:
    # A logged read is read in the log's transaction, on its connection: the page is the one
    # the log records, and the request holds one connection, not two.
    return reader if log is None else reader.within(await log.connection())


async def _resolve(reader: HotReader, me: Member, log: AsyncSession | None) -> PrivateReader:
    if log is not None:
        return await resolve(log, me)
    first_party = me.client_id == FIRST_PARTY_CLIENT_ID
    if not first_party:
        row = await reader.one(_FIRST_PARTY, client_id=me.client_id)
        first_party = row is not None and bool(row["is_first_party"])
    return PrivateReader(member=me, first_party=first_party)


def _private_count(user_id: uuid.UUID, rows: Sequence[Mapping[str, Any]]) -> int:
    return sum(
        1 for row in rows if row["visibility"] == Visibility.private and row["user_id"] == user_id
    )


def _item(row: Mapping[str, Any]) -> dict[str, Any]:
    # Both engines' rows carry UTC-aware times (`UTCDateTime`, asyncpg's timestamptz): they
    # serialise as `CheckInOut`'s `UtcDateTime` does, with no conversion.
    item = {name: row[name] for name in FIELDS}
    item["emotions"] = _keys(item["emotions"])
    item["needs"] = _keys(item["needs"])
    item["editable_until"] = item["created_at"] + EDIT_WINDOW
    return item


@functools.lru_cache(maxsize=4096)
def _keys(text: str | None) -> tuple[str, ...] | None:
    """A JSON list of keys, decoded once per distinct text (a tuple: shared, so immutable;
    it serialises as the list would)."""
    return None if text is None else tuple(json.loads(text))


async def couple_page(
    reader: HotReader, me: Member, params: PageQuery, log: AsyncSession | None
) -> bytes:
    """The JSON of `Page[CheckInOut]` for my current couple's check-ins.

    `log` is the request's writing session when this caller's read may need logging
    (`private_writing.may_need_logging`), else None: then the query returns no private check-in
    a read of which is logged. One query for a non-empty page (two for an app other than
    Rapport's mobile one, and data keys on a cold key cache); only an empty page asks whether
    there is a couple at all (`NoCouple` for a person without one)."""
    reader = await _on_the_log(reader, log)
    private_reader = await _resolve(reader, me, log)
    page = _COUPLE_PAGES[private_reader.may_read(PrivateKind.checkin)]
    window = await page.run_hot(reader, params, me=me.user_id)
    if not window.items and await reader.one(_IN_A_COUPLE, me=me.user_id) is None:
        raise NoCouple("Create a couple or join one with your partner's invite code.")
    return await _answer(reader, private_reader, window, log, "checkins_list_couple")


async def my_page(
    reader: HotReader,
    me: Member,
    params: PageQuery,
    log: AsyncSession | None,
    *,
    since: date | None = None,
    until: date | None = None,
) -> bytes:
    """`checkins.list_mine` as the JSON of `Page[CheckInOut]`, read as `couple_page` is."""
    reader = await _on_the_log(reader, log)
    private_reader = await _resolve(reader, me, log)
    own_private = private_reader.may_read(PrivateKind.checkin)
    page = _my_page(own_private, since is not None, until is not None)
    bounds = {"since": since, "until": until}
    values = {name: value for name, value in bounds.items() if value is not None}
    window = await page.run_hot(reader, params, me=me.user_id, **values)
    return await _answer(reader, private_reader, window, log, "checkins_list")


async def _answer(
    reader: HotReader,
    private_reader: PrivateReader,
    window: Window[Mapping[str, Any]],
    log: AsyncSession | None,
    operation: str,
) -> bytes:
    if log is not None:
        private = _private_count(private_reader.member.user_id, window.items)
        await private_reader.record(log, PrivateKind.checkin, private, operation)
    items = [_item(row) for row in window.items]
    await _SEALED.open(reader, items)
    return to_json(
        {
            "data": items,
            "next_cursor": window.next_cursor,
            "has_more": window.has_more,
        }
    )
