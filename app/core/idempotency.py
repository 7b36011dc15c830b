"""`Idempotency-Key` on POST: a retried request replays the first response instead of acting twice.

Every POST carrying the header goes through `IdempotencyMiddleware`; routes need no code.

- The key is remembered per caller (the verified token's subject and client, or `anonymous`)
  with a fingerprint of the request (method, path, query, body) for
  `settings.idempotency_ttl_seconds`. Expired records count as absent.
- Same key, same request, first one finished: its response is replayed (status, body and the
  headers in `_KEPT_HEADERS`) with `Idempotent-Replayed: true`.
- Same key, another request: 422. Same key while the first is still running: 409.
- The claim is committed in its own short transaction before the endpoint runs, so concurrent
  requests on any process see it; the outcome is stored before the response is sent, so a
  client that got an answer and retries gets the replay.
- What is stored: every 2xx, 3xx and 4xx outcome — 4xx included, so a retry answers what the
  first attempt answered, and a corrected request needs a new key. What releases the key (the
  next request with it runs afresh): 5xx, a crash, and the 4xx that describe the caller's
  credentials or timing rather than the request (401, 403, 408, 425, 429).
- A response marked `Cache-Control: no-store` (a secret shown once, private writing such as a
  journal entry) is never stored, so its replay is a 409 problem pointing at the resource.
- A claim whose request died with its process is taken over after `IN_FLIGHT_LEASE`.
- Responses of idempotent requests are buffered (POST responses are small and not streamed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_SCHEMA_REF,
    Conflict,
    FieldError,
    ProblemError,
    UnprocessableContent,
)
from app.core.tokens import InvalidToken, TokenService
from app.models.base import utcnow
from app.models.idempotency import IdempotencyRecord

logger = logging.getLogger("rapport.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
ANONYMOUS = "anonymous"
IN_FLIGHT_LEASE = timedelta(minutes=5)
PURGE_INTERVAL_SECONDS = 15 * 60
# Paths whose POSTs never take part: OAuth endpoints answer with tokens, which are never
# stored, and have their own replay rules (single-use codes, refresh token rotation).
EXCLUDED_PREFIXES = ("/oauth/",)

_KEY_HEADER = HEADER.lower().encode()
_VALID_KEY = re.compile(rb"[\x20-\x7e]{1,255}")
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


class InvalidIdempotencyKey(UnprocessableContent):
    slug = "invalid-idempotency-key"
    title = "The Idempotency-Key header is not valid"

    def __init__(self) -> None:
        super().__init__(
            "Send one Idempotency-Key of 1 to 255 printable ASCII characters, such as a UUID.",
            errors=[
                FieldError(header=HEADER, detail="must be 1 to 255 printable ASCII characters")
            ],
        )


class IdempotencyKeyReused(UnprocessableContent):
    slug = "idempotency-key-reused"
    title = "This Idempotency-Key belongs to another request"

    def __init__(self) -> None:
        super().__init__(
            "This key was sent with a different request (method, path or body). "
            "Use a new key for a new request.",
            errors=[FieldError(header=HEADER, detail="was used for another request")],
        )


class IdempotencyKeyInFlight(Conflict):
    slug = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is in progress"

    def __init__(self) -> None:
        super().__init__("Wait for the first request to finish, then retry to get its response.")


class IdempotentResponseWithheld(Conflict):
    slug = "idempotent-response-withheld"
    title = "The request already succeeded"

    def __init__(self, location: str | None = None) -> None:
        super().__init__(
            "A request with this key and body succeeded, but its response is not kept: it "
            "carried a secret shown once, or private writing. Read the resource it created "
            "instead" + (f" at {location}." if location else "."),
            headers={"Location": location} if location else None,
        )


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | None
    """None when the response was marked `Cache-Control: no-store`."""


# --- the record store: each step is its own short transaction -------------------------


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    caller: str,
    key: str,
    fingerprint: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> uuid.UUID | StoredResponse:
    """Claim `key` for this request (its record id), or return the first request's response.

    Raises IdempotencyKeyReused for another request, IdempotencyKeyInFlight while the first
    request runs.
    """
    now = now or utcnow()
    for _attempt in range(3):
        try:
            async with sessionmaker() as session, session.begin():
                record = await session.scalar(
                    select(IdempotencyRecord)
                    .where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
                    .with_for_update()
                )
                if record is None:
                    record = IdempotencyRecord(caller=caller, key=key, fingerprint=fingerprint)
                    session.add(record)
                elif _abandoned(record, now):
                    record.completed_at = None
                    record.response_status = None
                    record.response_headers = None
                    record.response_body = None
                    record.fingerprint = fingerprint
                elif record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                elif record.completed_at is None:
                    raise IdempotencyKeyInFlight()
                else:
                    assert record.response_status is not None
                    return StoredResponse(
                        status=record.response_status,
                        headers=[(name, value) for name, value in record.response_headers or []],
                        body=record.response_body,
                    )
                record.created_at = now
                record.expires_at = now + ttl
                await session.flush()
                return record.id
        except IntegrityError:
            continue  # a concurrent request inserted the key first: read its record
    raise IdempotencyKeyInFlight()


def _abandoned(record: IdempotencyRecord, now: datetime) -> bool:
    """Expired, or claimed by a request that cannot still be running."""
    if record.expires_at <= now:
        return True
    return record.completed_at is None and record.created_at <= now - IN_FLIGHT_LEASE


async def complete(
    sessionmaker: async_sessionmaker[AsyncSession], record_id: uuid.UUID, response: StoredResponse
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(
                completed_at=utcnow(),
                response_status=response.status,
                response_headers=[[name, value] for name, value in response.headers],
                response_body=response.body,
            )
        )


async def release(sessionmaker: async_sessionmaker[AsyncSession], record_id: uuid.UUID) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == record_id, IdempotencyRecord.completed_at.is_(None)
            )
        )


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete expired records in the caller's transaction; returns how many went."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- the request's identity -------------------------------------------------------------


def request_fingerprint(
    method: str, path: str, query: bytes, body: bytes, content_type: str
) -> str:
    """SHA-256 of the request; JSON bodies are canonicalised: key order and spacing don't count."""
    if content_type.split(";")[0].strip().lower() == "application/json":
        # Unparseable JSON is fingerprinted as raw bytes; the endpoint will refuse it anyway.
        with contextlib.suppress(ValueError, RecursionError):
            body = json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query):
        digest.update(part + b"\x00")
    digest.update(body)
    return digest.hexdigest()


async def resolve_caller(state: Any, authorization: str | None) -> str:
    """Who a key belongs to: the verified token's subject and client, else `anonymous`.

    A missing or invalid token is `anonymous`: an endpoint that needs a token answers 401,
    which is never stored; one that does not (sign-up) is protected all the same.
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return ANONYMOUS
    tokens: TokenService = state.tokens
    kid = tokens.peek_kid(token)
    if kid is not None and kid not in tokens.keys.verifying:
        await tokens.keys.reload_if_unknown(kid, state.sessionmaker)
    try:
        claims = tokens.verify(token)
    except InvalidToken:
        return ANONYMOUS
    caller = f"{claims.subject}@{claims.client_id}"
    return caller if len(caller) <= 200 else "sha256:" + hashlib.sha256(caller.encode()).hexdigest()


# --- the middleware -----------------------------------------------------------------------


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
        if len(keys) > 1 or not _VALID_KEY.fullmatch(keys[0]):
            await self._problem(InvalidIdempotencyKey(), scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its request
        state = scope["app"].state
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        caller = await resolve_caller(state, headers.get("authorization"))
        fingerprint = request_fingerprint(
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            body,
            headers.get("content-type", ""),
        )
        sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
        try:
            outcome = await claim(
                sessionmaker,
                caller=caller,
                key=keys[0].decode("ascii"),
                fingerprint=fingerprint,
                ttl=timedelta(seconds=state.settings.idempotency_ttl_seconds),
            )
        except ProblemError as error:
            await self._problem(error, scope, receive, send)
            return
        if isinstance(outcome, StoredResponse):
            await _replay(outcome, scope, receive, send)
            return
        await self._run(outcome, sessionmaker, body, scope, receive, send)
        await self._maybe_purge(sessionmaker)

    async def _run(
        self,
        record_id: uuid.UUID,
        sessionmaker: async_sessionmaker[AsyncSession],
        body: bytes,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        settled = False
        body_sent = False

        async def receive_body() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            nonlocal start, settled
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
            settled = True
            with anyio.CancelScope(shield=True):
                await _settle(sessionmaker, record_id, start, content)
            await send(start)
            await send({"type": "http.response.body", "body": content, "more_body": False})

        try:
            await self.app(scope, receive_body, capture)
        finally:
            if not settled:
                with anyio.CancelScope(shield=True):
                    await _release_quietly(sessionmaker, record_id)

    async def _maybe_purge(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
        try:
            async with sessionmaker() as session, session.begin():
                await purge_expired(session)
        except Exception:
            logger.exception("purging expired idempotency keys failed")

    @staticmethod
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


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession],
    record_id: uuid.UUID,
    start: Message,
    content: bytes,
) -> None:
    """Store the outcome, or release the key when a retry deserves to run afresh."""
    status: int = start["status"]
    headers = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in start.get("headers", [])
    ]
    if status >= 500 or status in _RELEASING_STATUSES:
        await _release_quietly(sessionmaker, record_id)
        return
    secret = any(name == "cache-control" and "no-store" in value.lower() for name, value in headers)
    stored = StoredResponse(
        status=status,
        headers=[(name, value) for name, value in headers if name in _KEPT_HEADERS],
        body=None if secret else content,
    )
    try:
        await complete(sessionmaker, record_id, stored)
    except Exception:
        logger.exception("storing an idempotent response failed; releasing its key")
        await _release_quietly(sessionmaker, record_id)


async def _release_quietly(
    sessionmaker: async_sessionmaker[AsyncSession], record_id: uuid.UUID
) -> None:
    try:
        await release(sessionmaker, record_id)
    except Exception:
        # The claim stays until IN_FLIGHT_LEASE passes; retries get 409 until then.
        logger.exception("releasing an idempotency key failed")


async def _replay(stored: StoredResponse, scope: Scope, receive: Receive, send: Send) -> None:
    if stored.body is None:
        location = next((value for name, value in stored.headers if name == "location"), None)
        withheld = IdempotentResponseWithheld(location)
        await withheld.to_response(instance=scope["path"])(scope, receive, send)
        return
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
    headers.append((b"content-length", str(len(stored.body)).encode()))
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


# --- the published schema -------------------------------------------------------------------

_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}
_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request replays the first response "
        f"(marked `{REPLAYED_HEADER}: true`) for 24 hours instead of acting twice. "
        "Use a new random key, such as a UUID, for every new request."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
}
_REPLAYED = {
    "description": "`true` when this response is the replay of an earlier request's.",
    "schema": {"type": "string", "enum": ["true"]},
}


def _with_description(response: dict[str, Any] | None, description: str) -> dict[str, Any]:
    if response is None:
        return {"description": description, "content": _PROBLEM_CONTENT}
    known = [part for part in str(response.get("description", "")).split("; ") if part]
    if description not in known:
        known.append(description)
    return {**response, "description": "; ".join(known)}


def document_idempotency(schema: dict[str, Any]) -> None:
    """Declare the header, the replay marker and the 409/422 problems on every POST."""
    for path, item in schema.get("paths", {}).items():
        operation = item.get("post")
        if operation is None or path.startswith(EXCLUDED_PREFIXES):
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == HEADER.lower() for p in parameters):
            parameters.append(dict(_PARAMETER))
        responses = operation.setdefault("responses", {})
        for status, response in list(responses.items()):
            if str(status).startswith("2"):
                responses[status] = {
                    **response,
                    "headers": {**response.get("headers", {}), REPLAYED_HEADER: _REPLAYED},
                }
        responses["409"] = _with_description(
            responses.get("409"), "A request with this Idempotency-Key is in progress"
        )
        responses["422"] = _with_description(
            responses.get("422"), "The Idempotency-Key is invalid or belongs to another request"
        )
