"""FCM HTTP v1 (`projects/{id}/messages:send`), authorized by a service account.

The service account signs an RS256 assertion, exchanged at its token endpoint for an access
token (the OAuth 2 JWT bearer grant, RFC 7523); the token is cached until a minute before it
expires, and fetched again once if FCM answers 401. Answers: 200 sent; 404 `UNREGISTERED` (or
400 naming an invalid registration token) prunes the device; 429 and 5xx retry later, after
`Retry-After`; other errors fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.push.base import Outcome, PushMessage, SendResult, retry_after_seconds

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
EXPIRY_MARGIN = 60


@dataclass(frozen=True, slots=True)
class FCMConfig:
    base_url: str
    project_id: str
    client_email: str
    private_key_pem: str
    token_url: str
    private_key_id: str | None = None

    @classmethod
    def from_file(
        cls, base_url: str, project_id: str, service_account: Path, token_url: str | None
    ) -> FCMConfig:
        account = json.loads(service_account.read_text(encoding="utf-8"))
        return cls(
            base_url=base_url.rstrip("/"),
            project_id=project_id,
            client_email=account["client_email"],
            private_key_pem=account["private_key"],
            token_url=token_url or account.get("token_uri", "https://oauth2.googleapis.com/token"),
            private_key_id=account.get("private_key_id"),
        )


class FCMSender:
    def __init__(
        self,
        config: FCMConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._key = RSAKey.import_key(config.private_key_pem)
        self._http = http or httpx.AsyncClient(http2=True, timeout=10.0)
        self._clock = clock
        self._access: tuple[str, float] | None = None

    def assertion(self) -> str:
        now = int(self._clock())
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if self.config.private_key_id:
            header["kid"] = self.config.private_key_id
        claims = {
            "iss": self.config.client_email,
            "scope": SCOPE,
            "aud": self.config.token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        return jwt.encode(header, claims, self._key)

    async def access_token(self, *, fresh: bool = False) -> str:
        if not fresh and self._access is not None and self._clock() < self._access[1]:
            return self._access[0]
        response = await self._http.post(
            self.config.token_url, data={"grant_type": GRANT_TYPE, "assertion": self.assertion()}
        )
        response.raise_for_status()
        body = response.json()
        lifetime = float(body.get("expires_in", 3600))
        self._access = (str(body["access_token"]), self._clock() + lifetime - EXPIRY_MARGIN)
        return self._access[0]

    async def send(self, token: str, message: PushMessage) -> SendResult:
        android: dict[str, Any] = {"priority": "high" if message.urgent else "normal"}
        if message.collapse_id:
            android["collapse_key"] = message.collapse_id
        body = {
            "message": {
                "token": token,
                "notification": {"title": message.title, "body": message.body},
                "data": message.data,
                "android": android,
            }
        }
        url = f"{self.config.base_url}/v1/projects/{self.config.project_id}/messages:send"
        try:
            response = await self._post(url, body, fresh=False)
            if response.status_code == 401:
                response = await self._post(url, body, fresh=True)
        except httpx.HTTPError as error:
            return SendResult(Outcome.retry, type(error).__name__, 60.0)
        return _result(response)

    async def _post(self, url: str, body: dict[str, Any], *, fresh: bool) -> httpx.Response:
        bearer = await self.access_token(fresh=fresh)
        return await self._http.post(url, json=body, headers={"authorization": f"Bearer {bearer}"})

    async def aclose(self) -> None:
        await self._http.aclose()


def _error_code(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return str(response.status_code)
    for detail in error.get("details", []):
        if isinstance(detail, dict) and "errorCode" in detail:
            return str(detail["errorCode"])
    return str(error.get("status", response.status_code))


def _result(response: httpx.Response) -> SendResult:
    if response.status_code == 200:
        return SendResult(Outcome.sent, "200")
    code = _error_code(response)
    if code == "UNREGISTERED" or response.status_code == 404:
        return SendResult(Outcome.unregistered, code)
    if response.status_code == 429 or response.status_code >= 500:
        delay = retry_after_seconds(response.headers.get("retry-after"), 60.0)
        return SendResult(Outcome.retry, code, delay)
    return SendResult(Outcome.failed, code)
