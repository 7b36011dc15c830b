"""Local HTTP/2 servers over TLS that answer like APNs and FCM (and Google's token endpoint).

Written on the `h2` state machine: each request is handed to a handler once its stream
ends, and its answer goes back on the same stream. The servers check what Apple and Google
check: the APNs provider token's ES256 signature, key id and team, the topic and push type;
the FCM service account's RS256 assertion at the token endpoint, and the bearer token it got.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from tests.tls_support import self_signed


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, dict[str, str], dict[str, Any]]
Handler = Callable[[Request], Answer]


def tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's context (ALPN h2) and a client
    context that trusts it."""
    cert_path, key_path = self_signed(
        tmp_path, "127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1")), stem="push-"
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    server.set_alpn_protocols(["h2"])
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


@dataclass
class H2Server:
    handler: Handler
    context: ssl.SSLContext
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def __aenter__(self) -> H2Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        connection = h2.connection.H2Connection(config=config)
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        try:
            while data := await reader.read(65_535):
                for event in connection.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {str(k): str(v) for k, v in event.headers or []}
                        streams[event.stream_id or 0] = (headers, bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id or 0][1].extend(event.data or b"")
                        connection.acknowledge_received_data(
                            event.flow_controlled_length or 0, event.stream_id or 0
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        self._answer(
                            connection, event.stream_id or 0, streams.pop(event.stream_id or 0)
                        )
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                writer.write(connection.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            return
        finally:
            writer.close()

    def _answer(
        self,
        connection: h2.connection.H2Connection,
        stream_id: int,
        received: tuple[dict[str, str], bytearray],
    ) -> None:
        headers, body = received
        request = Request(headers[":method"], headers[":path"], headers, bytes(body))
        self.requests.append(request)
        status, extra, answer = self.handler(request)
        payload = json.dumps(answer).encode()
        connection.send_headers(
            stream_id,
            [
                (":status", str(status)),
                ("content-type", "application/json"),
                ("content-length", str(len(payload))),
                *extra.items(),
            ],
        )
        connection.send_data(stream_id, payload, end_stream=True)


@dataclass
class FakeAPNs:
    """Apple's side: a team, a key id and its public key, a topic; tokens that are gone or
    throttled."""

    public_key: ECKey
    key_id: str
    team_id: str
    topic: str
    gone: set[str] = field(default_factory=set)
    throttled: dict[str, int] = field(default_factory=dict)
    """Token → how many more times to answer 429 (Retry-After 120)."""
    delivered: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def __call__(self, request: Request) -> Answer:
        assert request.method == "POST" and request.path.startswith("/3/device/")
        token = request.path.removeprefix("/3/device/")
        scheme, _, bearer = request.headers["authorization"].partition(" ")
        assert scheme == "bearer"
        try:
            verified = jwt.decode(bearer, self.public_key, algorithms=["ES256"])
        except JoseError:
            return 403, {}, {"reason": "InvalidProviderToken"}
        if verified.header.get("kid") != self.key_id or verified.claims.get("iss") != self.team_id:
            return 403, {}, {"reason": "InvalidProviderToken"}
        if request.headers.get("apns-topic") != self.topic:
            return 400, {}, {"reason": "DeviceTokenNotForTopic"}
        assert request.headers["apns-push-type"] == "alert"
        assert request.headers["apns-priority"] in {"5", "10"}
        if token in self.gone:
            return 410, {}, {"reason": "Unregistered", "timestamp": 1_700_000_000_000}
        if self.throttled.get(token, 0) > 0:
            self.throttled[token] -= 1
            return 429, {"retry-after": "120"}, {"reason": "TooManyRequests"}
        self.delivered.append((token, request.headers, request.json()))
        return 200, {"apns-id": secrets.token_hex(16)}, {}


@dataclass
class FakeFCM:
    """Google's side: the token endpoint and FCM HTTP v1 for one project."""

    public_key: RSAKey
    client_email: str
    project_id: str
    token_url: str = ""
    issued: list[str] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    unregistered: set[str] = field(default_factory=set)
    throttled: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, int] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: Request) -> Answer:
        if request.path == "/token":
            return self._token(request)
        assert request.path == f"/v1/projects/{self.project_id}/messages:send"
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued or bearer in self.expired:
            return 401, {}, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}
        message = request.json()["message"]
        token = message["token"]
        if token in self.unregistered:
            return 404, {}, _fcm_error(404, "NOT_FOUND", "UNREGISTERED")
        if self.throttled.get(token, 0) > 0:
            self.throttled[token] -= 1
            return (
                429,
                {"retry-after": "90"},
                _fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
            )
        if self.unavailable.get(token, 0) > 0:
            self.unavailable[token] -= 1
            return 503, {"retry-after": "30"}, _fcm_error(503, "UNAVAILABLE", "UNAVAILABLE")
        self.delivered.append(message)
        return 200, {}, {"name": f"projects/{self.project_id}/messages/{secrets.token_hex(8)}"}

    def _token(self, request: Request) -> Answer:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        verified = jwt.decode(form["assertion"], self.public_key, algorithms=["RS256"])
        claims = verified.claims
        assert claims["iss"] == self.client_email and claims["aud"] == self.token_url
        assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
        assert claims["exp"] - claims["iat"] <= 3600
        access = "ya29." + secrets.token_urlsafe(24)
        self.issued.append(access)
        return 200, {}, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}


def _fcm_error(code: int, status: str, error_code: str) -> dict[str, Any]:
    detail = {
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": error_code,
    }
    return {"error": {"code": code, "status": status, "details": [detail]}}


def apns_key() -> tuple[bytes, ECKey]:
    """A `.p8` key as Apple hands it out (PKCS#8 PEM), and its public half."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, ECKey.import_key(public)


def service_account(token_url: str, project_id: str) -> tuple[dict[str, str], RSAKey]:
    """A service-account key file as Google hands it out, and its public key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    account = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"push@{project_id}.iam.gserviceaccount.com",
        "token_uri": token_url,
    }
    return account, RSAKey.import_key(public)
