"""The feed that keeps a process's revocation set fresh: rows another process writes arrive, and
on PostgreSQL a listener that lost its connection reloads what it missed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.revocation import RevocationFeed, RevocationSet
from app.core.revocation_log import Reason, revoke
from app.core.tokens import AccessTokenClaims, new_token_id


def claims_for(user_id: uuid.UUID) -> AccessTokenClaims:
    now_ms = time.time_ns() // 1_000_000 - 1000
    return AccessTokenClaims(
        subject=str(user_id),
        client_id="rapport-mobile",
        scopes=frozenset({"profile"}),
        jti=new_token_id(now_ms),
        issued_at=now_ms // 1000,
        expires_at=now_ms // 1000 + 900,
        user_id=user_id,
    )


@pytest.fixture
def elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Revocations written here reach this process's sets only through the feed."""
    monkeypatch.setattr("app.core.revocation_log.stage", lambda _session, _entry: None)


@pytest.fixture
async def feed(engine: AsyncEngine) -> AsyncIterator[RevocationFeed]:
    started = RevocationFeed(RevocationSet(), engine, poll_interval=0.1, health_check_interval=0.2)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def until_revoked(feed: RevocationFeed, claims: AccessTokenClaims, within: float) -> float:
    started = time.monotonic()
    while not feed.revocations.is_revoked(claims):
        assert time.monotonic() - started < within, "the feed did not deliver the revocation"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_row_written_elsewhere_reaches_the_set(
    elsewhere: None, feed: RevocationFeed, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user_id = uuid.uuid4()
    claims = claims_for(user_id)
    assert not feed.revocations.is_revoked(claims)
    async with sessionmaker() as session, session.begin():
        await revoke(session, reason=Reason.safety_exit, user_id=user_id)
    await until_revoked(feed, claims, within=2)


async def test_a_new_feed_starts_with_the_live_rows(
    elsewhere: None, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await revoke(session, reason=Reason.safety_exit, user_id=user_id)
    late = RevocationFeed(RevocationSet(), engine)
    await late.start()
    try:
        assert late.revocations.is_revoked(claims_for(user_id))
    finally:
        await late.stop()


async def test_a_listener_that_lost_its_connection_reloads_what_it_missed(
    is_postgres: bool,
    elsewhere: None,
    feed: RevocationFeed,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    if not is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    listener = feed._listener
    assert listener is not None
    user_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.get_server_pid()}
        )
    # Sent while the listener is gone: the reload after reconnecting is what brings it.
    async with sessionmaker() as session, session.begin():
        await revoke(session, reason=Reason.safety_exit, user_id=user_id)
    await until_revoked(feed, claims_for(user_id), within=5)
    assert feed._listener is not None and feed._listener is not listener
