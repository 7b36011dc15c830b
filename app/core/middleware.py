"""The outermost ASGI layer: request ids, `Cache-Control` on personal data, access logs, and
a problem body for crashes (`503` when the database is out of reach, `500` otherwise).

One layer does all four on every request (one wrapper around `send`, one pass over the
response headers): each ASGI layer costs a coroutine and a closure per request."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.cache_control import CACHE_CONTROL_HEADER, NO_STORE, policy_for
from app.core.context import reset_request_id, set_request_id
from app.core.problems import problem_response
from app.core.unavailable import RETRY_AFTER_SECONDS, database_unavailable

logger = logging.getLogger("rapport.http")

REQUEST_ID_HEADER = b"x-request-id"
_AUTHORIZATION = b"authorization"
# An incoming id is echoed only when it is short and printable: it ends up in logs.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming: bytes | None = None
        authenticated = False
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER:
                incoming = value if incoming is None else incoming
            elif name == _AUTHORIZATION:
                authenticated = True
        request_id = self._valid_id(incoming) or secrets.token_hex(16)
        id_header = (REQUEST_ID_HEADER, request_id.encode())
        path = scope.get("path", "")
        policy = policy_for(path, authenticated)
        policy_header = None if policy is None else (CACHE_CONTROL_HEADER, policy.encode())
        replace_policy = policy == NO_STORE  # private writing: nothing weaker, whatever was set
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = []
                has_policy = False
                for header in message.get("headers", ()):
                    name = header[0].lower()
                    if name == REQUEST_ID_HEADER:
                        continue
                    if name == CACHE_CONTROL_HEADER:
                        if replace_policy:
                            continue
                        has_policy = True
                    headers.append(header)
                headers.append(id_header)
                if policy_header is not None and not has_policy:
                    headers.append(policy_header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            unavailable = database_unavailable(error)
            if unavailable:
                logger.warning("database unavailable: %s", error)
            else:
                logger.exception("unhandled error")
            if response_started:
                raise
            response = _unavailable() if unavailable else _internal_error()
            await response(scope, receive, send_with_id)
        finally:
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            reset_request_id(token)

    @staticmethod
    def _valid_id(value: bytes | None) -> str | None:
        """An incoming id is echoed only when it is short and printable: it ends up in logs."""
        if value is None:
            return None
        candidate = value.decode("latin-1")
        return candidate if _VALID_REQUEST_ID.match(candidate) else None


def _internal_error() -> Response:
    return problem_response(
        status=500,
        slug="internal-error",
        title="Internal server error",
        detail="Something went wrong on our side. Quote the request id when reporting it.",
    )


def _unavailable() -> Response:
    return problem_response(
        status=503,
        slug="unavailable",
        title="Service unavailable",
        detail="The database cannot be reached just now. Try again after `Retry-After` "
        "seconds (a POST with the same `Idempotency-Key`).",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
