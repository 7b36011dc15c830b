"""What identifies an idempotent request: its key, its caller and its fingerprint; and the
problems a key can cause."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from typing import Any

from app.core.problems import Conflict, FieldError, UnprocessableContent
from app.core.tokens import InvalidToken, TokenService

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
ANONYMOUS = "anonymous"
# Paths whose POSTs never take part: OAuth endpoints answer with tokens, which are never
# stored, and have their own replay rules (single-use codes, refresh token rotation).
EXCLUDED_PREFIXES = ("/oauth/",)
RETRY_AFTER_SECONDS = 1

VALID_KEY = re.compile(rb"[\x20-\x7e]{1,255}")


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
        super().__init__(
            "Wait for the first request to finish, then retry to get its response.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


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
