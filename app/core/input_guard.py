"""Refuse input no endpoint can store, before any endpoint sees it.

- Bodies over `MAX_BODY_BYTES` are answered 413.
- NUL characters (`\\u0000` in JSON, `%00` in forms and query strings) and unpaired UTF-16
  surrogates (`\\ud800` alone in JSON) are answered 422: PostgreSQL cannot store them in
  text, and no field of this API has a use for them, so both engines refuse them alike
  instead of one storing what the other rejects.
- A JSON object that repeats a key (`{"visibility": "private", "visibility": "partner"}`),
  at any depth, is answered 422 naming the key: parsers disagree on which value wins (ours
  kept the last), so the API refuses to guess. Every body is looked at except forms, since
  some endpoints (the library import) read JSON whatever the declared content type.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.problems import FieldError, problem_response

MAX_BODY_BYTES = 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ENCODED_NUL = re.compile(rb"%00", re.IGNORECASE)
_SUSPECT_ESCAPE = re.compile(rb"\\u(0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class _RepeatedKey(Exception):
    pass


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as parsed, with its keys in order and repeats kept."""


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _RepeatedKey
    return document


def _escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _pointer_to_repeat(value: Any, path: str = "#") -> tuple[str, str] | None:
    """The first repeated key in document order, as (JSON pointer, key)."""
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, item in value:
            if key in seen:
                return f"{path}/{_escaped(key)}", key
            seen.add(key)
            if found := _pointer_to_repeat(item, f"{path}/{_escaped(key)}"):
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if found := _pointer_to_repeat(item, f"{path}/{index}"):
                return found
    return None


def _repeated_key_in_body(body: bytes, content_type: bytes) -> FieldError | None:
    if not body or content_type.split(b";")[0].strip().lower() in _FORM_TYPES:
        return None
    try:
        json.loads(body, object_pairs_hook=_refuse_repeats)
    except _RepeatedKey:
        found = _pointer_to_repeat(json.loads(body, object_pairs_hook=_Pairs))
        pointer, key = found if found else ("#", "")
        return FieldError(pointer=pointer, detail=f"repeats the key {json.dumps(key)}")
    except (ValueError, RecursionError):
        return None  # not JSON: the endpoint's own parsing will refuse it
    return None


def _pointer_to_unstorable(value: Any, path: str = "#") -> str | None:
    """Where a NUL or a lone surrogate sits (json.loads joins proper pairs into one
    character), as a JSON pointer; None when the value is clean."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            escaped = _escaped(str(key))
            if _UNSTORABLE.search(str(key)):
                return f"{path}/{escaped}"
            if found := _pointer_to_unstorable(item, f"{path}/{escaped}"):
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if found := _pointer_to_unstorable(item, f"{path}/{index}"):
                return found
    return None


def _unstorable_in_body(body: bytes) -> FieldError | None:
    if b"\x00" in body or _ENCODED_NUL.search(body):
        return FieldError(detail="contains a NUL character")
    if not _SUSPECT_ESCAPE.search(body):
        return None
    try:  # an escaped backslash before u0000 is harmless text: decide on the parsed value
        pointer = _pointer_to_unstorable(json.loads(body))
    except ValueError:
        return None  # not JSON: the endpoint's own parsing will refuse it
    if pointer is None:
        return None
    return FieldError(pointer=pointer, detail="contains a NUL character or an unpaired surrogate")


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or _ENCODED_NUL.search(scope.get("query_string", b"")):
            await self._refuse(scope, receive, send, FieldError(detail="contains a NUL character"))
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse_size(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse_size(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if (error := _unstorable_in_body(body)) is not None:
            await self._refuse(scope, receive, send, error)
            return
        if (repeat := _repeated_key_in_body(body, headers.get(b"content-type", b""))) is not None:
            await self._refuse(
                scope,
                receive,
                send,
                repeat,
                detail="The JSON body repeats a key; each key of an object may appear once.",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        error: FieldError,
        *,
        detail: str = "The request contains a NUL character or an unpaired surrogate, which no "
        "field accepts.",
    ) -> None:
        response = problem_response(
            status=422,
            slug="validation-error",
            title="Your request is not valid",
            detail=detail,
            instance=scope.get("path"),
            extra={"errors": [error.model_dump(exclude_none=True)]},
        )
        await response(scope, receive, send)

    async def _refuse_size(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            status=413,
            slug="content-too-large",
            title="Content too large",
            detail=f"Request bodies are limited to {self.max_body_bytes} bytes.",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)
