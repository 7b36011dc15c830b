"""Transparent encryption of the models' free text, at the ORM layer.

A model lists its encrypted attributes and, for each, the attribute naming the person whose
data key seals it: `__encrypted__ = {"body": "user_id"}`. Then:

- `before_insert` / `before_update` (inside the flush, on the flush's own connection) seal each
  new or changed value, assigning the row id first so the associated data can bind it;
- `after_flush_postexec` puts the plaintext back on the instance, as its committed value, so
  services and responses never see an envelope;
- `load` / `refresh` open the values of rows read from the database.

Services, exports and tests keep reading and writing plain strings through the ORM. A value
whose owner attribute is None (text copied from a published template, which no person wrote)
stays as it is; so do values written past the ORM (`update().values(...)`), which the app only
uses for fixed wording such as "Repair plan".

The session events are synchronous; under `AsyncSession` they run in SQLAlchemy's greenlet,
where a synchronous `connection.execute` for a data key works.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session, SessionTransaction, attributes, object_session
from sqlalchemy.orm.state import InstanceState

from app.core import crypto
from app.models.base import Base, utcnow
from app.models.keys import DataKey

log = logging.getLogger(__name__)

_KEYS = DataKey.__table__
_RESTORE = "rapport.encryption.restore"
_CREATED = "rapport.encryption.created"
_SHREDDED = "rapport.encryption.shredded"
MISSING = object()
"""What a value opens to once its data key is gone."""


def encrypted_fields(cls: type[Any]) -> dict[str, str]:
    fields: dict[str, str] = getattr(cls, "__encrypted__", {})
    return fields


# --- Data keys, on a synchronous connection -----------------------------------------------


def _read_key(info: dict[Any, Any], connection: Connection, owner: uuid.UUID) -> bytes | None:
    """The owner's data key, or None when they have none (never wrote, or erased).

    `info` is the session's (or, in a migration, any dict): it remembers the keys created and
    destroyed in the transaction under way."""
    if owner in info.get(_SHREDDED, ()):
        return None
    cached = crypto.cache.get(owner)
    if cached is not None:
        return cached
    row = connection.execute(
        select(_KEYS.c.kek_id, _KEYS.c.wrapped_key).where(_KEYS.c.user_id == owner)
    ).first()
    if row is None:
        return None
    data_key = crypto.key_provider(connection.engine.url).unwrap(row.kek_id, row.wrapped_key, owner)
    # A key this transaction created is cached only once it commits: a rollback loses it.
    if owner not in info.get(_CREATED, ()):
        crypto.cache.put(owner, data_key)
    return data_key


def key_for_writing(info: dict[Any, Any], connection: Connection, owner: uuid.UUID) -> bytes:
    """The owner's data key, created (in the transaction under way) on their first write."""
    existing = _read_key(info, connection, owner)
    if existing is not None:
        return existing
    if owner in info.get(_SHREDDED, ()):
        raise crypto.EncryptionError("this person's data key was destroyed")
    kek_id, wrapped = crypto.key_provider(connection.engine.url).wrap(
        secrets.token_bytes(crypto.KEY_BYTES), owner
    )
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(_KEYS)
        .values(user_id=owner, kek_id=kek_id, wrapped_key=wrapped, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    info.setdefault(_CREATED, {})[owner] = None
    # Another transaction may have won the race: read whichever key is stored.
    stored = _read_key(info, connection, owner)
    if stored is None:  # pragma: no cover - the row was inserted or already there
        raise crypto.EncryptionError("a data key could not be stored")
    info[_CREATED][owner] = stored
    return stored


# --- Sealing during the flush ----------------------------------------------------------


def _seal_target(connection: Connection, target: Any, *, is_new: bool) -> None:
    fields = encrypted_fields(type(target))
    session = object_session(target)
    if not fields or session is None:
        return
    if target.id is None:
        target.id = uuid.uuid4()
    table = type(target).__tablename__
    restore: list[tuple[Any, str, str | bytes]] = session.info.setdefault(_RESTORE, [])
    for key, owner_key in fields.items():
        value = getattr(target, key)
        if not isinstance(value, str | bytes) or crypto.is_sealed(value):
            continue
        if not is_new and not attributes.get_history(target, key).added:
            continue
        owner = getattr(target, owner_key)
        if owner is None:
            continue
        data_key = key_for_writing(session.info, connection, owner)
        context = crypto.associated_data(table, key, target.id)
        sealed = (
            crypto.seal_bytes(data_key, owner, value, context)
            if isinstance(value, bytes)
            else crypto.seal(data_key, owner, value, context)
        )
        setattr(target, key, sealed)
        restore.append((target, key, value))


@event.listens_for(Base, "before_insert", propagate=True)
def _before_insert(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    _seal_target(connection, target, is_new=True)


@event.listens_for(Base, "before_update", propagate=True)
def _before_update(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    _seal_target(connection, target, is_new=False)


@event.listens_for(Session, "after_flush_postexec")
def _restore_plaintext(session: Session, _context: Any) -> None:
    for target, key, plaintext in session.info.pop(_RESTORE, ()):
        attributes.set_committed_value(target, key, plaintext)


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, _previous: Any) -> None:
    for target, key, plaintext in session.info.pop(_RESTORE, ()):
        attributes.set_committed_value(target, key, plaintext)
    # A savepoint (or the whole transaction) rolled back: a key made inside it is gone, though
    # an outer transaction may still commit. None of this transaction's new keys is cached,
    # even after its commit; a later read finds whichever is stored.
    created: dict[uuid.UUID, bytes | None] = session.info.get(_CREATED, {})
    for owner in created:
        created[owner] = None


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    created: dict[uuid.UUID, bytes | None] = session.info.pop(_CREATED, {})
    for owner, data_key in created.items():
        if data_key is not None:
            crypto.cache.put(owner, data_key)  # stored for good now
    for owner in session.info.pop(_SHREDDED, ()):
        crypto.cache.evict(owner)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost: committed or rolled back, it is over
        session.info.pop(_CREATED, None)
        session.info.pop(_SHREDDED, None)


# --- Opening on load -------------------------------------------------------------------


def open_stored(
    info: dict[Any, Any],
    connection: Connection,
    table: str,
    key: str,
    row_id: uuid.UUID,
    value: Any,
) -> Any:
    """The plaintext of a stored value (clear values pass through); MISSING when its data key
    was destroyed. One that fails to authenticate raises `EncryptionError`."""
    if not crypto.is_sealed(value):
        return value
    envelope = crypto.parse_envelope(value)
    data_key = _read_key(info, connection, envelope.owner)
    if data_key is None:
        log.info("encryption: %s.%s %s is sealed under a destroyed data key", table, key, row_id)
        return MISSING
    context = crypto.associated_data(table, key, row_id)
    if isinstance(value, bytes):
        return crypto.open_raw(data_key, envelope, context)
    return crypto.open_envelope(data_key, envelope, context)


async def seal_bytes(
    session: AsyncSession, owner: uuid.UUID, table: str, key: str, row_id: uuid.UUID, data: bytes
) -> bytes:
    """For a value written past the ORM (a Core UPDATE): sealed under the owner's key."""

    def work(sync: Session) -> bytes:
        data_key = key_for_writing(sync.info, sync.connection(), owner)
        return crypto.seal_bytes(data_key, owner, data, crypto.associated_data(table, key, row_id))

    return await session.run_sync(work)


async def open_bytes(
    session: AsyncSession, table: str, key: str, row_id: uuid.UUID, data: bytes | None
) -> bytes | None:
    """The plaintext of a value read past the ORM; None once its data key is destroyed."""
    if data is None or not crypto.is_sealed(data):
        return data

    def work(sync: Session) -> Any:
        return open_stored(sync.info, sync.connection(), table, key, row_id, data)

    opened = await session.run_sync(work)
    return None if opened is MISSING else bytes(opened)


def open_value(session: Session, cls: type[Any], key: str, row_id: uuid.UUID, value: Any) -> Any:
    """The plaintext of one stored value of `cls.key`, for a Core select that reads it.

    A value whose data key was destroyed (erasure) opens as None for a nullable column and
    "" otherwise.
    """
    table = cls.__tablename__
    plaintext = open_stored(session.info, session.connection(), table, key, row_id, value)
    if plaintext is MISSING:
        return None if cls.__table__.c[key].nullable else ""
    return plaintext


async def open_values(
    session: AsyncSession, cls: type[Any], key: str, rows: Iterable[tuple[uuid.UUID, Any]]
) -> list[Any]:
    """`open_value` for the (row id, stored value) pairs of a Core select, in order."""
    pairs = list(rows)

    def work(sync: Session) -> list[Any]:
        return [open_value(sync, cls, key, row_id, value) for row_id, value in pairs]

    return await session.run_sync(work)


def _open_target(target: Any, session: Session | None, keys: Iterable[str] | None) -> None:
    fields = encrypted_fields(type(target))
    if not fields or session is None:
        return
    state: InstanceState[Any] = attributes.instance_state(target)
    wanted = fields if keys is None else [key for key in keys if key in fields]
    for key in wanted:
        value = state.dict.get(key)
        if crypto.is_sealed(value):
            plaintext = open_value(session, type(target), key, target.id, value)
            attributes.set_committed_value(target, key, plaintext)


@event.listens_for(Base, "load", propagate=True)
def _on_load(target: Any, context: Any) -> None:
    _open_target(target, object_session(target), None)


@event.listens_for(Base, "refresh", propagate=True)
def _on_refresh(target: Any, context: Any, attrs: Iterable[str] | None) -> None:
    # `context` is None when a bulk UPDATE synchronises the identity map.
    _open_target(target, object_session(target), attrs)


# --- Erasure and rotation --------------------------------------------------------------


async def destroy_data_key(session: AsyncSession, owner: uuid.UUID) -> None:
    """Crypto-shred: delete the person's data key; their text, every copy, stays sealed."""
    await session.execute(delete(DataKey).where(DataKey.user_id == owner))
    session.sync_session.info.setdefault(_SHREDDED, set()).add(owner)
    crypto.cache.evict(owner)


async def rewrap_data_keys(session: AsyncSession, *, batch_size: int = 500) -> int:
    """Re-wrap every data key not under the active key-encryption key; returns how many."""
    provider = crypto.key_provider(session.get_bind().engine.url)
    done = 0
    while True:
        rows = (
            await session.execute(
                select(DataKey.user_id, DataKey.kek_id, DataKey.wrapped_key)
                .where(DataKey.kek_id != provider.active_key_id)
                .limit(batch_size)
            )
        ).all()
        if not rows:
            return done
        for owner, kek_id, wrapped in rows:
            data_key = provider.unwrap(kek_id, wrapped, owner)
            new_id, new_wrapped = provider.wrap(data_key, owner)
            await session.execute(
                update(DataKey)
                .where(DataKey.user_id == owner, DataKey.kek_id == kek_id)
                .values(kek_id=new_id, wrapped_key=new_wrapped, rewrapped_at=utcnow())
            )
        done += len(rows)


async def data_key_counts(session: AsyncSession) -> dict[str, int]:
    """How many data keys each key-encryption key wraps."""
    rows = await session.execute(
        select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id).order_by(DataKey.kek_id)
    )
    return {kek_id: count for kek_id, count in rows.all()}
