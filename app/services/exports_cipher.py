"""The export archive on disk: AES-256-GCM in chunks, so it is written and read in flat memory.

File layout: the magic `RPX1`, then chunks, each `flag (1 byte) | length (4 bytes, big
endian) | nonce (12 bytes) | ciphertext + tag`. Every chunk has a fresh random nonce, and its
associated data binds the export id, the chunk's index and the flag (1 on the last chunk, 0
before): chunks cannot be moved, swapped between exports, dropped from the end (the stream
must end on a flag-1 chunk) or extended past the last one. The key is random per export and
kept only in the export's database row.
"""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"RPX1"
CHUNK_SIZE = 64 * 1024
"""Plaintext bytes per chunk."""
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12
_TAG_BYTES = 16
_LAST, _MORE = 1, 0


class ArchiveCorrupt(Exception):
    """The file was cut short, changed, or does not belong to this export."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _associated_data(export_id: uuid.UUID, index: int, flag: int) -> bytes:
    return b"rapport/export/v1\x00" + export_id.bytes + struct.pack(">QB", index, flag)


class SealedWriter:
    """Buffers plaintext and writes it as sealed chunks; `close()` seals the last one."""

    def __init__(self, path: Path, key: bytes, export_id: uuid.UUID) -> None:
        self._aead = AESGCM(key)
        self._export_id = export_id
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file: BinaryIO = os.fdopen(descriptor, "wb")
        self._file.write(MAGIC)
        self._buffer = bytearray()
        self._index = 0
        self.plaintext_size = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.plaintext_size += len(data)
        # Keep at least one byte back: only `close()` knows which chunk is the last.
        while len(self._buffer) > CHUNK_SIZE:
            self._seal(bytes(self._buffer[:CHUNK_SIZE]), _MORE)
            del self._buffer[:CHUNK_SIZE]

    def _seal(self, plaintext: bytes, flag: int) -> None:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(
            nonce, plaintext, _associated_data(self._export_id, self._index, flag)
        )
        self._file.write(_HEADER.pack(flag, len(sealed)) + nonce + sealed)
        self._index += 1

    def close(self) -> None:
        self._seal(bytes(self._buffer), _LAST)
        self._buffer.clear()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abort(self) -> None:
        self._file.close()


def _read_exactly(file: BinaryIO, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise ArchiveCorrupt("the archive file is cut short")
    return data


def open_chunks(path: Path, key: bytes, export_id: uuid.UUID) -> Iterator[bytes]:
    """The plaintext, chunk by chunk; raises ArchiveCorrupt when anything does not hold.

    Opens the file at once (FileNotFoundError then, not at the first chunk)."""
    file: BinaryIO = path.open("rb")
    return _chunks(file, AESGCM(key), export_id)


def _chunks(file: BinaryIO, aead: AESGCM, export_id: uuid.UUID) -> Iterator[bytes]:
    with file:
        if file.read(len(MAGIC)) != MAGIC:
            raise ArchiveCorrupt("not an export archive")
        index = 0
        while True:
            header = file.read(_HEADER.size)
            if not header:
                raise ArchiveCorrupt("the archive ends without its last chunk")
            if len(header) != _HEADER.size:
                raise ArchiveCorrupt("the archive file is cut short")
            flag, length = _HEADER.unpack(header)
            if flag not in (_LAST, _MORE) or not _TAG_BYTES <= length <= CHUNK_SIZE + _TAG_BYTES:
                raise ArchiveCorrupt("a chunk header is not valid")
            nonce = _read_exactly(file, _NONCE_BYTES)
            sealed = _read_exactly(file, length)
            try:
                plaintext = aead.decrypt(nonce, sealed, _associated_data(export_id, index, flag))
            except InvalidTag:
                raise ArchiveCorrupt("a chunk does not decrypt under this export's key") from None
            index += 1
            if flag == _LAST:
                if file.read(1):
                    raise ArchiveCorrupt("data follows the last chunk")
                if plaintext:
                    yield plaintext
                return
            yield plaintext
