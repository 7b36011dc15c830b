"""Test fixtures shared by the whole suite.

The suite runs on SQLite by default and on PostgreSQL when `RAPPORT_TEST_DATABASE_URL` names
one (`.ci/run` does both). The schema is built once per run through the Alembic migrations,
never `create_all`. Each test starts from empty tables: rows are deleted after every test,
which (unlike a rolled-back outer transaction) also holds for tests that run the app under
uvicorn or in other processes, or that need several concurrent connections.
"""

from __future__ import annotations

import ast
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, exists, literal, select, text, union_all
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Environment, Settings
from app.core.security import Member
from app.main import create_app
from app.migrate import upgrade_async
from app.models import Base, Role, User
from app.models.oauth import OAuthClient
from app.schemas.users import UserCreate
from app.services.clients import ensure_first_party_client
from app.services.users import create_user

# Fixtures shared by several modules: `couple` and `templates` (repair plans); the webhook
# tests' partner, dev_app, tick and dispatcher.
pytest_plugins = ("tests.repair_support", "tests.webhooks_support")

FAST_LANE = "not slow"


def _marked_slow_as_a_whole(path: Path) -> bool:
    """Whether the module's own `pytestmark` names `slow`, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            return any(
                isinstance(part, ast.Attribute) and part.attr == "slow"
                for part in ast.walk(node.value)
            )
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the fast lane (`-m "not slow"`), modules that are slow as a whole are not even
    imported: building schemathesis's schema alone costs seconds at collection."""
    lane = " ".join(str(config.getoption("markexpr", "")).split())
    if lane == FAST_LANE and collection_path.suffix == ".py":
        name = collection_path.name
        if name.startswith("test_") and _marked_slow_as_a_whole(collection_path):
            return True
    return None


PUBLIC_URL = "http://rapport.test"
DEFAULT_PASSWORD = "a long enough passphrase"
# Rows in these tables are kept between tests: the signing keys the app holds in memory.
KEPT_TABLES = {"signing_keys", "alembic_version"}


def _database_url(tmp_dir: Path) -> str:
    return (
        os.environ.get("RAPPORT_TEST_DATABASE_URL")
        or f"sqlite+aiosqlite:///{tmp_dir / 'rapport-test.db'}"
    )


@pytest.fixture(scope="session")
def test_settings() -> Iterator[Settings]:
    with tempfile.TemporaryDirectory(prefix="rapport-test-") as tmp:
        settings = Settings(
            environment=Environment.test,
            database_url=_database_url(Path(tmp)),
            public_url=PUBLIC_URL,
            argon2_time_cost=1,
            argon2_memory_kib=8,
            log_json=False,
            log_level="WARNING",
            seed_on_start=False,
            run_worker_in_process=False,
            # The whole suite shares one app and one client address: generous general limits
            # (tests/test_rate_limits.py builds apps with small ones).
            rate_limit_per_token="100000/minute",
            rate_limit_per_ip="100000/minute",
            _env_file=None,
        )
        yield settings


async def _reset_postgres_schema(url: str) -> None:
    """Start every run from an empty schema, so the migrations are what builds it."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def app(test_settings: Settings) -> AsyncIterator[FastAPI]:
    if test_settings.database_url.startswith("postgresql"):
        await _reset_postgres_schema(test_settings.database_url)
    await upgrade_async(test_settings.database_url)
    application = create_app(test_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def engine(app: FastAPI) -> AsyncEngine:
    return app.state.engine  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    return app.state.sessionmaker  # type: ignore[no-any-return]


# Children before parents, so foreign keys never refuse a delete.
_EMPTIED_TABLES = [
    table for table in reversed(Base.metadata.sorted_tables) if table.name not in KEPT_TABLES
]
# One statement names the tables a test wrote to: most tests touch a handful of the sixty,
# and a DELETE per empty table was a fifth of the fast lane.
_FILLED_TABLES = union_all(
    *(select(literal(table.name)).where(exists().select_from(table)) for table in _EMPTIED_TABLES)
)


@pytest.fixture(autouse=True)
async def _clean_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    if "app" not in request.fixturenames:
        yield
        return
    app: FastAPI = request.getfixturevalue("app")
    engine: AsyncEngine = app.state.engine
    yield
    backend = getattr(app.state, "rate_limit_backend", None)
    if backend is not None and hasattr(backend, "clear"):
        backend.clear()  # rate-limit counters are state too
    await app.state.general_rate_limits.reset()
    async with engine.begin() as connection:
        filled = set((await connection.execute(_FILLED_TABLES)).scalars())
        for table in _EMPTIED_TABLES:
            if table.name in filled:
                await connection.execute(table.delete())


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session for inspecting and arranging data.

    It begins deferred on SQLite, so its open read transaction never blocks the app; commit
    (or roll back) before changing rows the app may have written since your last read.
    """
    async with app.state.reading_sessionmaker() as session:
        yield session


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


@dataclass
class Person:
    """A user made for a test, with a way to mint real access tokens for them."""

    user: User
    password: str
    app: FastAPI

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    def member(self, *scopes: str, client_id: str = "rapport-mobile") -> Member:
        """This person as a service-layer caller, for tests that call services directly."""
        return Member(user_id=self.user.id, client_id=client_id, scopes=frozenset(scopes))

    def token(self, *scopes: str, client_id: str = "rapport-mobile") -> str:
        access_token, _ = self.app.state.tokens.issue(
            subject=str(self.user.id), client_id=client_id, scope=" ".join(scopes)
        )
        return access_token  # type: ignore[no-any-return]

    def headers(self, *scopes: str, client_id: str = "rapport-mobile") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*scopes, client_id=client_id)}"}


MakeUser = Callable[..., Awaitable[Person]]


@pytest.fixture
def make_user(app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]) -> MakeUser:
    counter = iter(range(1, 10_000))

    async def make(
        *,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        display_name: str | None = None,
        timezone: str = "UTC",
        role: Role = Role.member,
    ) -> Person:
        n = next(counter)
        data = UserCreate(
            email=email or f"person{n}-{uuid.uuid4().hex[:6]}@example.org",
            password=password,
            display_name=display_name or f"Person {n}",
            timezone=timezone,
        )
        async with sessionmaker() as session, session.begin():
            user = await create_user(session, data, passwords=app.state.passwords, role=role)
        return Person(user=user, password=password, app=app)

    return make


@pytest.fixture
async def first_party_client(sessionmaker: async_sessionmaker[AsyncSession]) -> OAuthClient:
    async with sessionmaker() as session, session.begin():
        return await ensure_first_party_client(session)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: FastAPI, engine: AsyncEngine) -> Callable[[], Any]:
    """`with count_queries() as counter:` records the SQL statements run inside the block."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if (
                not statement.lstrip()
                .upper()
                .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
            ):
                counter.statements.append(statement)

        def record_hot(statement: str, _values: Any) -> None:
            counter.statements.append(statement)

        listeners = app.state.hot_reader.statement_listeners
        listeners.append(record_hot)
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
            listeners.remove(record_hot)

    return counting


@pytest.fixture(scope="session")
def is_postgres(test_settings: Settings) -> bool:
    return test_settings.database_url.startswith("postgresql")


__all__ = ["DEFAULT_PASSWORD", "PUBLIC_URL", "MakeUser", "Person"]


class Clock:
    """The app's notion of now, set by tests."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("use an aware datetime")
        self.app.state.clock = lambda: moment

    def advance(self, delta: timedelta) -> None:
        current: datetime = self.app.state.clock()
        self.set(current + delta)


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    original = app.state.clock
    yield Clock(app)
    app.state.clock = original
