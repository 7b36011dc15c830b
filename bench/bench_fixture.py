"""The benchmark's throwaway PostgreSQL database: created, filled with users who each hold a
real access token, and dropped."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg  # type: ignore[import-untyped]

from app.core.keys import KeyRing, generate_key
from app.core.tokens import TokenService

HOST = "127.0.0.1"
USERS = 64
BENCH_PASSWORD = "a long enough bench passphrase"  # noqa: S105 - throwaway users
TOKEN_TTL_SECONDS = 3600


@dataclass
class Fixture:
    admin_dsn: str
    database: str
    dsn: str
    sqlalchemy_url: str
    user_ids: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    partner_tokens: list[str] = field(default_factory=list)
    """Both partners of every couple with a year of history (bench_couples), interleaved."""
    writer_tokens: list[str] = field(default_factory=list)
    """One partner of each of those couples: every writer writes to a couple of its own."""
    writer_ids: list[str] = field(default_factory=list)
    """The same writers' user ids, in the same order."""
    signing_key_json: str = ""


def app_environment(fixture: Fixture, public_url: str) -> dict[str, str]:
    """The `RAPPORT_*` settings of the app under measurement (server or in process)."""
    return {
        "RAPPORT_DATABASE_URL": fixture.sqlalchemy_url,
        "RAPPORT_PUBLIC_URL": public_url,
        "RAPPORT_SIGNING_KEY": fixture.signing_key_json,
        "RAPPORT_ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS),
        "RAPPORT_LOG_LEVEL": "WARNING",
        # The general rate limits run (their cost is measured) but never refuse: the load is
        # 64 tokens from one address, far above any real client's rate.
        "RAPPORT_RATE_LIMIT_PER_TOKEN": "100000000/minute",
        "RAPPORT_RATE_LIMIT_PER_IP": "100000000/minute",
        # An experiment's settings: BENCH_RAPPORT_DATABASE_POOL_SIZE=40 sets the pool's size.
        **{
            name.removeprefix("BENCH_"): value
            for name, value in os.environ.items()
            if name.startswith("BENCH_RAPPORT_")
        },
    }


async def create_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def populate(fixture: Fixture, public_url: str) -> None:
    """Migrate, create the users through the service layer, and mint their tokens."""
    from bench_couples import populate_couples

    from app.core.passwords import Passwords
    from app.core.security import MEMBER_SCOPES
    from app.db import create_engine, create_sessionmaker
    from app.migrate import upgrade_async
    from app.schemas.users import UserCreate
    from app.services.users import create_user

    await upgrade_async(fixture.sqlalchemy_url)
    engine = create_engine(fixture.sqlalchemy_url)
    # The bench's own users need no strong password hashes (the server never checks them).
    passwords = Passwords(time_cost=1, memory_kib=8)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for n in range(USERS):
                data = UserCreate(
                    email=f"bench{n}@example.org",
                    password=BENCH_PASSWORD,
                    display_name=f"Bench {n}",
                )
                user = await create_user(session, data, passwords=passwords)
                fixture.user_ids.append(str(user.id))
            couples = await populate_couples(session, await passwords.hash(BENCH_PASSWORD))
    finally:
        await engine.dispose()

    key = generate_key()
    fixture.signing_key_json = json.dumps(key.as_dict(private=True))
    keys = KeyRing(access_token_ttl=timedelta(seconds=TOKEN_TTL_SECONDS))
    keys.use_static_key(key)
    tokens = TokenService(
        keys, issuer=public_url, audience=public_url, ttl_seconds=TOKEN_TTL_SECONDS
    )
    for user_id in fixture.user_ids:
        token, _ = tokens.issue(subject=user_id, client_id="rapport-mobile", scope="profile")
        fixture.tokens.append(token)
    # The mobile app's token for a person: every scope a member may grant.
    scope = " ".join(sorted(MEMBER_SCOPES))
    for person in couples.members:
        token, _ = tokens.issue(subject=str(person), client_id="rapport-mobile", scope=scope)
        fixture.partner_tokens.append(token)
        if person in couples.first:
            fixture.writer_tokens.append(token)
            fixture.writer_ids.append(str(person))
