"""Opening the sealed columns of rows read past the ORM and past any session (hot reads).

`encryption_orm` opens values as the ORM loads them, one data key lookup (cached) per value,
inside a session; `sealed_today` opens a hot read's values with cached keys and falls back to
a session. A hot list (`HotReader.all`) here has no session at all: `SealedColumns` opens its
items' sealed values in one pass, looking each owner's data key up once (from the process's
key cache, else one `HotReader.one` per owner, which caches it), and builds one cipher per
key.

A value opens exactly as the ORM's load opens it: clear values pass through; one whose data
key was destroyed (erasure) opens as None for a nullable column and "" otherwise; one that
fails to authenticate raises `EncryptionError`. Reading never creates a key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Table, bindparam, select

from app.core import crypto
from app.core.hot_reads import HotQuery, HotReader
from app.models.keys import DataKey

log = logging.getLogger(__name__)

_KEYS = DataKey.__table__
_DATA_KEY = HotQuery(
    select(_KEYS.c.kek_id, _KEYS.c.wrapped_key).where(_KEYS.c.user_id == bindparam("owner"))
)


class SealedColumns:
    """The sealed columns of one table, in the items (dicts by column name) of a hot read."""

    def __init__(self, table: Table, columns: Sequence[str], *, row_id: str = "id") -> None:
        self._table = table.name
        self._row_id = row_id
        self._columns = [(name, None if table.c[name].nullable else "") for name in columns]

    async def open(self, reader: HotReader, items: Sequence[dict[str, Any]]) -> None:
        """Open the items' sealed values in place."""
        sealed = [
            (item, name, erased)
            for item in items
            for name, erased in self._columns
            if crypto.is_sealed(item[name])
        ]
        ciphers: dict[uuid.UUID, AESGCM | None] = {}
        for item, name, erased in sealed:
            envelope = crypto.parse_envelope(item[name])
            owner = envelope.owner
            if owner not in ciphers:
                ciphers[owner] = await _cipher(reader, owner)
            cipher = ciphers[owner]
            row_id = item[self._row_id]
            if cipher is None:
                log.info(
                    "encryption: %s.%s %s is sealed under a destroyed data key",
                    self._table,
                    name,
                    row_id,
                )
                item[name] = erased
                continue
            context = crypto.associated_data(self._table, name, row_id)
            try:
                plaintext = cipher.decrypt(envelope.nonce, envelope.ciphertext, context)
            except InvalidTag:
                raise crypto.EncryptionError(
                    "a value failed to open: tampered with, or moved"
                ) from None
            item[name] = plaintext.decode("utf-8")


async def _cipher(reader: HotReader, owner: uuid.UUID) -> AESGCM | None:
    data_key = crypto.cache.get(owner)
    if data_key is None:
        row = await reader.one(_DATA_KEY, owner=owner)
        if row is None:
            return None  # never wrote, or erased
        data_key = crypto.key_provider(reader.url).unwrap(row["kek_id"], row["wrapped_key"], owner)
        crypto.cache.put(owner, data_key)
    return AESGCM(data_key)
