"""The `rapport` command, run as people run it: in its own process, against its own files.

Each test gets a temporary SQLite database through RAPPORT_DATABASE_URL; the schema check
runs in a temporary copy of the project, so the committed files are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

# Each test runs the `rapport` command in subprocesses: the slow lane.
pytestmark = pytest.mark.slow

COPIED = ("app", "migrations", "alembic.ini", "openapi")


def _command() -> list[str]:
    script = Path(sys.executable).with_name("rapport")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _environment(project: Path, database: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        PYTHONPATH=str(project),
        RAPPORT_LOG_LEVEL="WARNING",
        RAPPORT_ARGON2_TIME_COST="1",
        RAPPORT_ARGON2_MEMORY_KIB="8",
    )
    if database is not None:
        env["RAPPORT_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    return env


def rapport(
    *args: str, cwd: Path, project: Path = PROJECT_ROOT, database: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), *args],
        cwd=cwd,
        env=_environment(project, database),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A database brought to the latest schema by `rapport migrate`."""
    path = tmp_path / "cli.db"
    migrated = rapport("migrate", cwd=tmp_path, database=path)
    assert migrated.returncode == 0, migrated.stderr
    return path


@pytest.fixture
def empty_database(tmp_path: Path) -> Path:
    return tmp_path / "empty.db"


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, copy / name)
    return copy


def test_openapi_check_passes_on_the_committed_schema_and_fails_on_a_stale_one(
    project_copy: Path,
) -> None:
    schema = project_copy / "openapi" / "openapi.json"
    current = rapport("openapi", "--check", cwd=project_copy, project=project_copy)
    assert current.returncode == 0, (
        f"the committed schema is out of date: run `rapport openapi`\n{current.stderr}"
    )

    stale = json.loads(schema.read_text(encoding="utf-8"))
    stale["info"]["title"] = "Not the Rapport API"
    stale["paths"].pop(next(iter(stale["paths"])))
    schema.write_text(json.dumps(stale, indent=2), encoding="utf-8")
    failed = rapport("openapi", "--check", cwd=project_copy, project=project_copy)
    assert failed.returncode == 1, failed.stderr
    assert "out of date" in failed.stderr and "rapport openapi" in failed.stderr

    schema.unlink()
    missing = rapport("openapi", "--check", cwd=project_copy, project=project_copy)
    assert missing.returncode == 1, missing.stderr

    written = rapport("openapi", cwd=project_copy, project=project_copy)
    assert written.returncode == 0, written.stderr
    again = rapport("openapi", "--check", cwd=project_copy, project=project_copy)
    assert again.returncode == 0, again.stderr
    assert (PROJECT_ROOT / "openapi" / "openapi.json").read_bytes() == schema.read_bytes()


def test_create_client_prints_its_id_and_secret_once(tmp_path: Path, database: Path) -> None:
    partner = rapport(
        "create-client",
        "--name",
        "Couples Therapy Platform",
        "--confidential",
        "--scope",
        "webhooks:manage couple:read",
        "--redirect-uri",
        "https://therapy.example.org/callback",
        cwd=tmp_path,
        database=database,
    )
    assert partner.returncode == 0, partner.stderr
    body = json.loads(partner.stdout)
    assert body["client_id"] and body["client_secret"]
    assert body["confidential"] is True
    assert body["scopes"] == ["webhooks:manage", "couple:read"]
    assert body["redirect_uris"] == ["https://therapy.example.org/callback"]
    with sqlite3.connect(database) as connection:
        (stored,) = connection.execute(
            "SELECT client_secret_hash FROM oauth_clients WHERE client_id = ?", (body["client_id"],)
        ).fetchone()
    assert stored and body["client_secret"] not in stored

    app = rapport(
        "create-client",
        "--name",
        "A third-party app",
        "--redirect-uri",
        "org.example.app:/oauth/callback",
        "--scope",
        "profile",
        cwd=tmp_path,
        database=database,
    )
    assert app.returncode == 0, app.stderr
    public = json.loads(app.stdout)
    assert public["client_id"] != body["client_id"]
    assert public["client_secret"] is None and public["confidential"] is False


def test_create_client_refuses_an_unsafe_redirect_uri(tmp_path: Path, database: Path) -> None:
    refused = rapport(
        "create-client",
        "--name",
        "Sloppy",
        "--redirect-uri",
        "http://example.org/callback",
        cwd=tmp_path,
        database=database,
    )
    assert refused.returncode == 2
    assert "redirect_uris" in refused.stderr


def test_create_user(tmp_path: Path, database: Path) -> None:
    args = ("create-user", "--email", "Curator@Example.org", "--role", "curator")
    created = rapport(
        *args, "--password", "a long enough passphrase", cwd=tmp_path, database=database
    )
    assert created.returncode == 0, created.stderr
    user = json.loads(created.stdout)
    assert user["email"] == "Curator@example.org"
    assert user["role"] == "curator"
    assert user["display_name"] == "Curator"
    assert "password" not in created.stdout

    taken = rapport(*args, "--password", "another long passphrase", cwd=tmp_path, database=database)
    assert taken.returncode == 2
    assert json.loads(taken.stderr)["error"]

    weak = rapport(
        "create-user",
        "--email",
        "x@example.org",
        "--password",
        "short",
        cwd=tmp_path,
        database=database,
    )
    assert weak.returncode == 2
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (1,)


def test_seed_is_idempotent(tmp_path: Path, empty_database: Path) -> None:
    database = empty_database  # seed migrates first, like serve
    first = rapport("seed", cwd=tmp_path, database=database)
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(database) as connection:
        before = {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for (table,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    assert before["oauth_clients"] == 1

    second = rapport("seed", cwd=tmp_path, database=database)
    assert second.returncode == 0, second.stderr
    json.loads(second.stdout)  # a JSON summary of what it loaded
    with sqlite3.connect(database) as connection:
        after = {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in before
        }
        (client_id,) = connection.execute("SELECT client_id FROM oauth_clients").fetchone()
    assert after == before
    assert client_id == "rapport-mobile"
