"""The sync feed's cursor: the position of the last event served and the time it was issued,
signed with an HMAC of the application secret and bound to the person.

Every page, the last included, carries one. A cursor older than `RAPPORT_SYNC_RETENTION_DAYS`
is refused (410): the app resyncs from scratch. Cursors issued before events carried their
transaction id (`[seq, issued]`) still read, as position `(0, seq)`: every event of that time
has `xid` 0.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core.events import EventPosition
from app.core.pagination import InvalidCursor
from app.core.problems import ProblemError

_MAC_BYTES = 16


class SyncCursorExpired(ProblemError):
    status = 410
    slug = "sync-cursor-expired"
    title = "This sync cursor has expired"


@dataclass(frozen=True, slots=True)
class SyncCursor:
    position: EventPosition
    issued_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, user_id: uuid.UUID, payload: str) -> bytes:
    key = hashlib.sha256(b"rapport/sync-cursor\x00" + secret).digest()
    message = user_id.bytes + b"\x00" + payload.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(secret: bytes, user_id: uuid.UUID, cursor: SyncCursor) -> str:
    xid, seq = cursor.position
    document = [xid, seq, int(cursor.issued_at.timestamp())]
    payload = _b64(json.dumps(document, separators=(",", ":")).encode())
    return payload + "." + _b64(_mac(secret, user_id, payload))


def _position(numbers: list[int]) -> EventPosition:
    if len(numbers) == 1:  # a cursor from before transaction ids
        return EventPosition(0, numbers[0])
    xid, seq = numbers
    return EventPosition(xid, seq)


def decode_cursor(secret: bytes, user_id: uuid.UUID, text: str) -> SyncCursor:
    payload, dot, signature = text.partition(".")
    try:
        if not dot or not payload.isascii() or not signature.isascii():
            raise InvalidCursor()
        if not hmac.compare_digest(_unb64(signature), _mac(secret, user_id, payload)):
            raise InvalidCursor()
        document = json.loads(_unb64(payload))
        if not isinstance(document, list) or len(document) not in (2, 3):
            raise InvalidCursor()
        *numbers, issued = document
        if any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in document):
            raise InvalidCursor()
        return SyncCursor(_position(numbers), datetime.fromtimestamp(issued, UTC))
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise InvalidCursor() from None


def check_fresh(cursor: SyncCursor, now: datetime, retention_days: int) -> None:
    if cursor.issued_at < now - timedelta(days=retention_days):
        raise SyncCursorExpired(
            f"This cursor is older than {retention_days} days and events it points past may be "
            "gone. Resync from scratch: fetch your data through the API, then sync without a "
            "cursor."
        )
