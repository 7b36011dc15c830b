"""The parts of `bench/faults.py` that are not the run itself: the receiver that counts
deliveries, the outcomes of the API writers, and the throwaway installation's setup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fixture import BENCH_PASSWORD  # noqa: E402

PUBLIC_URL = "http://rapport.bench"
PLATFORM = "bench-platform"


@dataclass
class Receiver:
    """Accepts deliveries (204) and counts them by `webhook-id` and by event id, except while
    `failing_until` is ahead: then it answers 500."""

    failing_until: float = 0.0
    accepted: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    refused: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if time.monotonic() < self.failing_until:
                    self.refused += 1
                    writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
                else:
                    self.accepted[headers.get("webhook-id", "?")] += 1
                    self.events[json.loads(body)["data"]["id"]] += 1
                    writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class Outcomes:
    """Every write's start time and outcome (a status code, or an exception's name)."""

    results: list[tuple[float, str]] = field(default_factory=list)

    def count(self, since: float, until: float = float("inf")) -> dict[str, int]:
        return dict(Counter(o for t, o in self.results if since <= t < until))


async def prepare(url: str, receiver_url: str, people: int) -> tuple[list[str], str]:
    """Migrate; people who connected the platform, its endpoint. Their tokens, the key."""
    from app.core.keys import KeyRing, generate_key
    from app.core.passwords import Passwords
    from app.core.tokens import TokenService
    from app.db import create_engine, create_sessionmaker
    from app.migrate import upgrade_async
    from app.models.oauth import Consent, OAuthClient
    from app.models.webhooks import WebhookEndpoint
    from app.schemas.users import UserCreate
    from app.services.users import create_user

    await upgrade_async(url)
    engine = create_engine(url)
    ids = []
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add(
                OAuthClient(
                    client_id=PLATFORM,
                    name="Bench platform",
                    is_confidential=True,
                    allowed_scopes=["profile", "webhooks:manage"],
                )
            )
            session.add(
                WebhookEndpoint(
                    client_id=PLATFORM,
                    url=receiver_url,
                    secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    event_types=["user.updated"],
                )
            )
            passwords = Passwords(time_cost=1, memory_kib=8)
            for n in range(people):
                data = UserCreate(
                    email=f"fault{n}@example.org", password=BENCH_PASSWORD, display_name="F"
                )
                user = await create_user(session, data, passwords=passwords)
                session.add(Consent(user_id=user.id, client_id=PLATFORM, scopes=["profile"]))
                ids.append(str(user.id))
    finally:
        await engine.dispose()
    key = generate_key()
    keys = KeyRing(access_token_ttl=timedelta(hours=1))
    keys.use_static_key(key)
    tokens = TokenService(keys, issuer=PUBLIC_URL, audience=PUBLIC_URL, ttl_seconds=3600)
    issued = [tokens.issue(subject=i, client_id="rapport-mobile", scope="profile")[0] for i in ids]
    return issued, json.dumps(key.as_dict(private=True))


def environment(url: str, signing_key: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_PUBLIC_URL": PUBLIC_URL,
        "RAPPORT_SIGNING_KEY": signing_key,
        "RAPPORT_ENVIRONMENT": "development",
        "RAPPORT_SEED_ON_START": "false",
        "RAPPORT_RUN_WORKER_IN_PROCESS": "false",
        "RAPPORT_WEBHOOK_ALLOW_HTTP": "true",
        "RAPPORT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "RAPPORT_RATE_LIMIT_PER_TOKEN": "100000000/minute",
        "RAPPORT_RATE_LIMIT_PER_IP": "100000000/minute",
        "RAPPORT_LOG_LEVEL": "WARNING",
    }


def children(pid: int) -> list[int]:
    """The API's worker processes: the supervisor's children but its resource tracker."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = []
    for child in path.read_text().split() if path.exists() else []:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found
