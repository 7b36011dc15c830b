"""The sender interface, its results, and the log sender (nothing leaves the process).

A sender sends one message to one device token and says what happened, never raising for
what the provider answered: `sent`; `unregistered` (the token is gone: prune the device);
`retry` (throttled or unavailable: try again no sooner than `retry_after` seconds); `failed`
(refused for good: do not try again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

log = logging.getLogger("rapport.push")


class Outcome(StrEnum):
    sent = "sent"
    unregistered = "unregistered"
    retry = "retry"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class PushMessage:
    """What a lock screen may show: neutral text and ids, never anything a person wrote."""

    title: str
    body: str
    data: dict[str, str]
    """Ids and kinds only, for the app to open the right screen."""
    collapse_id: str | None = None
    urgent: bool = True
    """`False` for reminders: providers may delay them to save the battery."""


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    reason: str = ""
    """The provider's short reason (`Unregistered`, `TooManyRequests`, an HTTP status)."""
    retry_after: float | None = None


class Sender(Protocol):
    async def send(self, token: str, message: PushMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Sent:
    provider: str
    token: str
    message: PushMessage


@dataclass
class LogSender:
    """Records what would be sent and logs its kind; the default when a provider is not
    configured (development and tests)."""

    provider: str
    sent: list[Sent] = field(default_factory=list)

    async def send(self, token: str, message: PushMessage) -> SendResult:
        self.sent.append(Sent(self.provider, token, message))
        log.info(
            "push not sent (log sender): %s",
            message.data.get("kind", ""),
            extra={"provider": self.provider, "kind": message.data.get("kind", "")},
        )
        return SendResult(Outcome.sent, "logged")

    async def aclose(self) -> None:
        return None


def retry_after_seconds(value: str | None, default: float) -> float:
    """A `Retry-After` header in seconds (HTTP dates are taken for the default)."""
    if value is not None and value.strip().isdigit():
        return float(int(value.strip()))
    return default
