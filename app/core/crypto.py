"""Encryption at rest: AES-256-GCM envelopes under per-person data keys.

Every piece of free text a person writes is sealed under that person's data key (DEK): 32
random bytes, stored only wrapped by a key-encryption key (KEK) in `data_keys`. The KEKs come
from a `KeyProvider`; the one here reads them from settings (`RAPPORT_ENCRYPTION_KEYS`), and a
cloud KMS can take its place by implementing the same three members.

A sealed value is text, so it fits the column it replaces:

    "rp1." + base64url(owner uuid (16 bytes) | nonce (12 bytes) | ciphertext and tag)

The owner names the data key. The associated data binds the value to its table, column and
row, so a ciphertext copied into another row or column fails to open. Destroying a person's
data key (account erasure) leaves every copy of their text, backups included, unreadable.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger(__name__)

PREFIX = "rp1."
BINARY_PREFIX = b"\x00rp1"
"""Binary columns (stored responses); JSON never starts with a NUL byte."""
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class EncryptionError(Exception):
    """A value or a key that cannot be opened: tampered with, moved, or wrapped by an unknown
    key-encryption key."""


class KeyConfigError(ValueError):
    """`RAPPORT_ENCRYPTION_KEYS` is not a list of `id:base64key` with 32-byte keys."""


class KeyProvider(Protocol):
    """Wraps and unwraps data keys; the only holder of key-encryption keys."""

    @property
    def active_key_id(self) -> str:
        """The id new data keys are wrapped under."""
        ...

    def wrap(self, data_key: bytes, owner: uuid.UUID) -> tuple[str, bytes]:
        """Wrap under the active key: its id and the wrapped bytes."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes, owner: uuid.UUID) -> bytes:
        """Raise `EncryptionError` for an unknown key id or a wrapped key that fails."""
        ...


class StaticKeyProvider:
    """KEKs held in memory (from settings or a development file); the first is active."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise KeyConfigError("at least one key-encryption key is needed")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = next(iter(keys))

    @property
    def active_key_id(self) -> str:
        return self._active

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def wrap(self, data_key: bytes, owner: uuid.UUID) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._active].encrypt(nonce, data_key, _wrap_context(owner))
        return self._active, nonce + sealed

    def unwrap(self, key_id: str, wrapped: bytes, owner: uuid.UUID) -> bytes:
        kek = self._keys.get(key_id)
        if kek is None:
            raise EncryptionError(f"no key-encryption key {key_id!r} is configured")
        try:
            return kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_context(owner))
        except InvalidTag:
            raise EncryptionError("a data key failed to unwrap") from None


def _wrap_context(owner: uuid.UUID) -> bytes:
    # A wrapped key moved to another person's row does not unwrap.
    return b"rapport.data_key:" + owner.bytes


def parse_keys(value: str) -> dict[str, bytes]:
    """`kid1:base64key,kid2:base64key` (first is active) as an ordered mapping."""
    keys: dict[str, bytes] = {}
    for item in value.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigError("each key is `id:base64key`, the id of letters, digits, - or _")
        if key_id in keys:
            raise KeyConfigError(f"key id {key_id!r} appears twice")
        try:
            key = base64.b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"key {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise KeyConfigError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256)")
        keys[key_id] = key
    if not keys:
        raise KeyConfigError("no key-encryption key given")
    return keys


def new_key_line(key_id: str | None = None) -> str:
    """A fresh `id:base64key` item, for `RAPPORT_ENCRYPTION_KEYS` or the development file."""
    key_id = key_id or f"k{time.strftime('%Y%m%d')}{secrets.token_hex(2)}"
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def development_key_file(database_url: str) -> Path:
    """Beside the SQLite file; in the working directory for any other database."""
    marker = ":///"
    if database_url.startswith("sqlite") and marker in database_url:
        path = database_url.split(marker, 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path + ".kek")
    return Path("rapport-dev.kek")


def load_or_create_key_file(path: Path) -> dict[str, bytes]:
    """Read the development KEK file, creating it (mode 600) on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return parse_keys(path.read_text(encoding="utf-8"))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        # A fresh id each time: a database opened with another file's key says so plainly.
        handle.write(new_key_line(f"dev-{secrets.token_hex(4)}") + "\n")
    log.warning(
        "encryption: generated a development key-encryption key in %s; set "
        "RAPPORT_ENCRYPTION_KEYS in production (losing this file loses all encrypted text)",
        path,
    )
    return parse_keys(path.read_text(encoding="utf-8"))


def provider_from_settings(settings: Settings) -> StaticKeyProvider:
    if settings.encryption_keys is not None:
        return StaticKeyProvider(parse_keys(settings.encryption_keys.get_secret_value()))
    path = development_key_file(settings.database_url)
    keys = load_or_create_key_file(path)
    if settings.environment.value == "development":
        log.warning("encryption: RAPPORT_ENCRYPTION_KEYS is unset; using %s", path)
    return StaticKeyProvider(keys)


# --- Envelopes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    owner: uuid.UUID
    nonce: bytes
    ciphertext: bytes


def associated_data(table: str, column: str, row_id: uuid.UUID) -> bytes:
    return f"rapport:{table}.{column}:{row_id}".encode()


def is_sealed(value: object) -> bool:
    if isinstance(value, bytes):
        return value.startswith(BINARY_PREFIX)
    return isinstance(value, str) and value.startswith(PREFIX)


def parse_envelope(value: str | bytes) -> Envelope:
    """A text envelope, or a binary one (`BINARY_PREFIX` + the same bytes, unencoded)."""
    if isinstance(value, bytes):
        raw = value[len(BINARY_PREFIX) :]
    else:
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
        except (binascii.Error, ValueError):
            raise EncryptionError("not an envelope") from None
    if len(raw) < 16 + NONCE_BYTES + 16:
        raise EncryptionError("a truncated envelope")
    return Envelope(uuid.UUID(bytes=raw[:16]), raw[16 : 16 + NONCE_BYTES], raw[16 + NONCE_BYTES :])


def _seal_raw(data_key: bytes, owner: uuid.UUID, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return owner.bytes + nonce + AESGCM(data_key).encrypt(nonce, plaintext, context)


def seal(data_key: bytes, owner: uuid.UUID, plaintext: str, context: bytes) -> str:
    raw = _seal_raw(data_key, owner, plaintext.encode("utf-8"), context)
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def seal_bytes(data_key: bytes, owner: uuid.UUID, plaintext: bytes, context: bytes) -> bytes:
    return BINARY_PREFIX + _seal_raw(data_key, owner, plaintext, context)


def open_raw(data_key: bytes, envelope: Envelope, context: bytes) -> bytes:
    try:
        return AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, context)
    except InvalidTag:
        raise EncryptionError("a value failed to open: tampered with, or moved") from None


def open_envelope(data_key: bytes, envelope: Envelope, context: bytes) -> str:
    return open_raw(data_key, envelope, context).decode("utf-8")


# --- The data-key cache ----------------------------------------------------------------


class DataKeyCache:
    """Unwrapped data keys, bounded and short-lived, so a list of one person's rows costs
    one key lookup. Erasure evicts the person's entry in its own process; other processes
    drop theirs within `ttl` seconds."""

    def __init__(self, max_entries: int = 1024, ttl: float = 60.0) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[uuid.UUID, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, owner: uuid.UUID) -> bytes | None:
        with self._lock:
            entry = self._entries.get(owner)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[owner]
                return None
            self._entries.move_to_end(owner)
            return entry[1]

    def put(self, owner: uuid.UUID, data_key: bytes) -> None:
        with self._lock:
            self._entries[owner] = (time.monotonic() + self.ttl, data_key)
            self._entries.move_to_end(owner)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def evict(self, owner: uuid.UUID) -> None:
        with self._lock:
            self._entries.pop(owner, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


cache = DataKeyCache()
_providers: dict[str | None, KeyProvider] = {}
_settings: dict[str, Settings] = {}


def _database(url: object) -> str:
    """One name per database, whatever password the URL carries."""
    return make_url(str(url)).render_as_string(hide_password=True)


def configure(provider: KeyProvider, *, database_url: str | None = None) -> None:
    """Install the key provider of one database (or, without a URL, of any database)."""
    _providers[None if database_url is None else _database(database_url)] = provider


def configure_from_settings(settings: Settings) -> None:
    """`create_app` and the CLI: the provider of `settings.database_url`, built on first use
    (so a server starts, and answers its readiness probe, before the key file is needed)."""
    name = _database(settings.database_url)
    _settings[name] = settings
    _providers.pop(name, None)


def key_provider(database_url: object = None) -> KeyProvider:
    """The provider of a database: configured, or built from the settings given for it, or
    from the process's own settings (a migration or a worker)."""
    name = None if database_url is None else _database(database_url)
    provider = _providers.get(name)
    if provider is not None:
        return provider
    if name is None or name not in _settings:
        fallback = _providers.get(None)
        if fallback is not None:
            return fallback
    from app.config import get_settings

    settings = _settings.get(name) if name is not None else None
    if settings is None:
        settings = get_settings()
        if database_url is not None:
            settings = settings.model_copy(update={"database_url": str(database_url)})
    provider = provider_from_settings(settings)
    _providers[name] = provider
    return provider
