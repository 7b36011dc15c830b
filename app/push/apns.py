"""APNs over HTTP/2 with token-based authentication (an ES256 JWT from a `.p8` key).

Apple asks for the provider token to be refreshed between 20 and 60 minutes: it is cached
for 40. Answers: 200 sent; 410 (`Unregistered`) and 400 `BadDeviceToken` prune the device;
429 and 5xx retry later (after `Retry-After` when Apple sends one); `ExpiredProviderToken`
signs a new token and retries; other errors fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from app.push.base import Outcome, PushMessage, SendResult, retry_after_seconds

TOKEN_LIFETIME = 40 * 60
GONE_REASONS = frozenset({"Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"})


@dataclass(frozen=True, slots=True)
class APNsConfig:
    base_url: str
    key_pem: bytes
    key_id: str
    team_id: str
    topic: str

    @classmethod
    def from_file(
        cls, base_url: str, key_file: Path, key_id: str, team_id: str, topic: str
    ) -> APNsConfig:
        return cls(base_url.rstrip("/"), key_file.read_bytes(), key_id, team_id, topic)


class APNsSender:
    def __init__(
        self,
        config: APNsConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._key = ECKey.import_key(config.key_pem)
        self._http = http or httpx.AsyncClient(http2=True, timeout=10.0)
        self._clock = clock
        self._token: tuple[str, float] | None = None

    def provider_token(self) -> str:
        now = self._clock()
        if self._token is None or now - self._token[1] >= TOKEN_LIFETIME:
            header = {"alg": "ES256", "kid": self.config.key_id}
            claims = {"iss": self.config.team_id, "iat": int(now)}
            self._token = (jwt.encode(header, claims, self._key), now)
        return self._token[0]

    async def send(self, token: str, message: PushMessage) -> SendResult:
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": self.config.topic,
            "apns-push-type": "alert",
            "apns-priority": "10" if message.urgent else "5",
        }
        if message.collapse_id:
            headers["apns-collapse-id"] = message.collapse_id[:64]
        body = {
            "aps": {"alert": {"title": message.title, "body": message.body}, "sound": "default"},
            **message.data,
        }
        url = f"{self.config.base_url}/3/device/{token}"
        try:
            response = await self._http.post(url, json=body, headers=headers)
        except httpx.HTTPError as error:
            return SendResult(Outcome.retry, type(error).__name__, 60.0)
        result = _result(response)
        if result.reason == "ExpiredProviderToken":
            self._token = None  # signed afresh for the retry
            return SendResult(Outcome.retry, result.reason, 1.0)
        return result

    async def aclose(self) -> None:
        await self._http.aclose()


def _result(response: httpx.Response) -> SendResult:
    if response.status_code == 200:
        return SendResult(Outcome.sent, "200")
    try:
        reason = str(response.json().get("reason", response.status_code))
    except ValueError:
        reason = str(response.status_code)
    if response.status_code == 410 or reason in GONE_REASONS:
        return SendResult(Outcome.unregistered, reason)
    if response.status_code == 429 or response.status_code >= 500:
        delay = retry_after_seconds(response.headers.get("retry-after"), 60.0)
        return SendResult(Outcome.retry, reason, delay)
    return SendResult(Outcome.failed, reason)
