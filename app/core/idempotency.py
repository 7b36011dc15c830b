"""`Idempotency-Key` on POST: a retried request replays the first response instead of acting twice.

Every POST carrying the header goes through `IdempotencyMiddleware`; routes need no code.

- The key is remembered per caller (the verified token's subject and client, or `anonymous`)
  with a fingerprint of the request (method, path, query, body) for
  `settings.idempotency_ttl_seconds`. Expired records count as absent.
- Same key, same request, first one finished: its response is replayed (status, body and the
  headers in `_KEPT_HEADERS`) with `Idempotent-Replayed: true`.
- Same key, another request: 422. Same key while the first is still running: 409 with
  `Retry-After`.
- The outcome is written in the request's own transaction, after the endpoint produced its
  response and before that transaction commits (this middleware owns the transaction; the
  session dependency works in a savepoint of it, see `app.db.adopt_request_session`). The
  response is sent only after the commit. A crash therefore leaves the change and its outcome
  both stored (a retry gets the replay) or neither (a retry runs afresh); see
  `app.core.idempotency_store` for how a dead request's claim is recognised.
- What is stored: every 2xx, 3xx and 4xx outcome — 4xx included, so a retry answers what the
  first attempt answered, and a corrected request needs a new key. What releases the key (the
  next request with it runs afresh): 5xx, a crash, and the 4xx that describe the caller's
  credentials or timing rather than the request (401, 403, 408, 425, 429).
- A response marked `Cache-Control: no-store` (a secret shown once, private writing such as a
  journal entry) is never stored, so its replay is a 409 problem pointing at the resource.
- Responses of idempotent requests are buffered (POST responses are small and not streamed).
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.core.idempotency_request import (
    EXCLUDED_PREFIXES,
    HEADER,
    REPLAYED_HEADER,
    VALID_KEY,
    IdempotencyKeyInFlight,
    IdempotentResponseWithheld,
    InvalidIdempotencyKey,
    request_fingerprint,
    resolve_caller,
)
from app.core.idempotency_schema import document_idempotency
from app.core.idempotency_store import (
    Claim,
    IdempotencyStore,
    KeyedRequest,
    StoredResponse,
    purge_expired,
)
from app.core.problems import ProblemError
from app.db import adopt_request_session

__all__ = ["IdempotencyMiddleware", "document_idempotency"]

logger = logging.getLogger("rapport.idempotency")

PURGE_INTERVAL_SECONDS = 15 * 60
# The exit status of a process the test fault hook ended.
CRASH_EXIT_STATUS = 70

_KEY_HEADER = HEADER.lower().encode()
_KEPT_HEADERS = frozenset(
    {
        "allow",
        "content-language",
        "content-location",
        "content-type",
        "etag",
        "last-modified",
        "link",
        "location",
    }
)
_RELEASING_STATUSES = frozenset({401, 403, 408, 425, 429})


class IdempotencyMiddleware:
    """Applies the Idempotency-Key rules to every POST; sits inside RequestContextMiddleware."""

    def __init__(self, app: ASGIApp, *, excluded_prefixes: tuple[str, ...] = EXCLUDED_PREFIXES):
        self.app = app
        self.excluded_prefixes = excluded_prefixes
        self._next_purge = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].startswith(self.excluded_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name == _KEY_HEADER]
        if not keys:
            await self.app(scope, receive, send)
            return
        if len(keys) > 1 or not VALID_KEY.fullmatch(keys[0]):
            await _problem(InvalidIdempotencyKey(), scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its request
        state = scope["app"].state
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        request = KeyedRequest(
            caller=await resolve_caller(state, headers.get("authorization")),
            key=keys[0].decode("ascii"),
            fingerprint=request_fingerprint(
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                body,
                headers.get("content-type", ""),
            ),
        )
        store = IdempotencyStore(
            state.sessionmaker,
            state.reading_sessionmaker,
            ttl=timedelta(seconds=state.settings.idempotency_ttl_seconds),
        )
        async with state.sessionmaker() as session:
            try:
                outcome = await store.claim(session, request)
            except ProblemError as error:
                await session.rollback()
                await _problem(error, scope, receive, send)
                return
            if isinstance(outcome, StoredResponse):
                await session.rollback()
                await _replay(outcome, scope, receive, send)
                return
            settings: Settings = state.settings
            await _RequestRun(store, session, outcome, settings.test_idempotency_crash).run(
                self.app, body, scope, receive, send
            )
        await self._maybe_purge(state.sessionmaker)

    async def _maybe_purge(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
        try:
            async with sessionmaker() as session, session.begin():
                await purge_expired(session)
        except Exception:
            logger.exception("purging expired idempotency keys failed")


class _RequestRun:
    """One claimed request: runs the endpoint in `session`, then settles and commits."""

    def __init__(
        self, store: IdempotencyStore, session: AsyncSession, claim: Claim, crash_at: str | None
    ) -> None:
        self.store = store
        self.session = session
        self.claim = claim
        self.crash_at = crash_at
        """The test fault hook: where this process dies (see `Settings`)."""
        self.settled = False

    async def run(
        self, app: ASGIApp, body: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        body_sent = False

        async def receive_body() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            content = b"".join(chunks)
            self.settled = True
            with anyio.CancelScope(shield=True):
                kept = await self._settle(start, content)
            if not kept:
                await _problem(IdempotencyKeyInFlight(), scope, receive, send)
                return
            await send(start)
            await send({"type": "http.response.body", "body": content, "more_body": False})

        adopt_request_session(scope, self.session)
        try:
            await app(scope, receive_body, capture)
        finally:
            if not self.settled:
                with anyio.CancelScope(shield=True):
                    await self._abandon()

    async def _settle(self, start: Message, content: bytes) -> bool:
        """Write the outcome in the request's transaction and commit; False if the key was lost."""
        try:
            if not await self.store.settle(self.session, self.claim, _outcome(start, content)):
                logger.warning("an idempotency claim outlived its lease; rolling back")
                await self.session.rollback()
                return False
            self._crash_if("before_commit")
            await self.session.commit()
        except BaseException:
            await self._abandon()
            raise
        self._crash_if("after_commit")
        return True

    async def _abandon(self) -> None:
        """Roll back the request's change and free the key (a crash does the same)."""
        try:
            await self.session.rollback()
            await self.store.release(self.claim)
        except Exception:
            # The claim stays until it is seen to be dead; retries get 409 until then.
            logger.exception("releasing an idempotency key failed")

    def _crash_if(self, point: str) -> None:
        if self.crash_at == point:
            logger.critical("test fault hook: the process dies %s", point.replace("_", " "))
            os._exit(CRASH_EXIT_STATUS)


def _outcome(start: Message, content: bytes) -> StoredResponse | None:
    """What to store for this response; None when a retry deserves to run afresh."""
    status: int = start["status"]
    headers = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in start.get("headers", [])
    ]
    if status >= 500 or status in _RELEASING_STATUSES:
        return None
    secret = any(name == "cache-control" and "no-store" in value.lower() for name, value in headers)
    return StoredResponse(
        status=status,
        headers=[(name, value) for name, value in headers if name in _KEPT_HEADERS],
        body=None if secret else content,
    )


async def _problem(error: ProblemError, scope: Scope, receive: Receive, send: Send) -> None:
    await error.to_response(instance=scope["path"])(scope, receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(stored: StoredResponse, scope: Scope, receive: Receive, send: Send) -> None:
    if stored.body is None:
        location = next((value for name, value in stored.headers if name == "location"), None)
        await _problem(IdempotentResponseWithheld(location), scope, receive, send)
        return
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
    headers.append((b"content-length", str(len(stored.body)).encode()))
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})
