"""SDKs: clients generated from the committed openapi/openapi.json type-check and work.

Each test generates a client into a temporary folder (Python: openapi-python-client; TypeScript:
@hey-api/openapi-ts, pinned in tests/sdk/package-lock.json), type-checks it with its journey
(mypy strict; tsc --noEmit), then drives that journey (tests/sdk/journey.py, journey.ts)
against the app under uvicorn (`rapport serve`) on 127.0.0.1, on SQLite. Nothing is
downloaded here: `npm ci` in tests/sdk (.ci/run does it) installs the TypeScript tools.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.config import Environment, Settings
from tests.api_processes import api_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "tests" / "sdk"
SCHEMA = ROOT / "openapi" / "openapi.json"
BIN = Path(sys.executable).parent
REDIRECT_URI = "http://127.0.0.1/oauth/callback"  # the journeys' (they never follow it)
SCOPES = [
    *("profile", "couple:read", "couple:write", "prompts:read", "answers:read"),
    *("answers:write", "checkins:read", "checkins:write", "insights:read", "webhooks:manage"),
]


@dataclass
class Server:
    url: str
    client_id: str
    client_secret: str

    @property
    def args(self) -> list[str]:
        return [self.url, self.client_id, self.client_secret]


def run(args: Sequence[str | Path], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Runs a command to completion; fails the test with its output when it fails."""
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = f"$ {' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, output
    return done.stdout


async def run_async(
    args: Sequence[str | Path], *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> str:
    return await asyncio.to_thread(run, args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """`rapport serve` on its own SQLite database, with starter prompts, the in-process
    webhook worker, plain-http loopback receivers allowed, and one registered app."""
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sdk-db') / 'rapport.db'}"
    settings = Settings(environment=Environment.test, database_url=database_url, _env_file=None)
    extra_env = {
        "RAPPORT_SEED_ON_START": "true",
        "RAPPORT_RUN_WORKER_IN_PROCESS": "true",
        "RAPPORT_WEBHOOK_ALLOW_HTTP": "true",
        "RAPPORT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    async with api_process(settings, extra_env=extra_env, own_public_url=True) as api:
        command: list[str | Path] = [BIN / "rapport", "create-client", "--confidential"]
        command += ["--name", "Closer Together", "--redirect-uri", REDIRECT_URI]
        command += [arg for scope in SCOPES for arg in ("--scope", scope)]
        registered = await run_async(
            command, env={"RAPPORT_DATABASE_URL": database_url, "RAPPORT_ENVIRONMENT": "test"}
        )
        client = json.loads(registered)
        yield Server(
            str(api.http.base_url).rstrip("/"), client["client_id"], client["client_secret"]
        )


async def test_the_python_client_type_checks_and_walks_the_journey(
    server: Server, tmp_path: Path
) -> None:
    await run_async(
        [
            *(BIN / "openapi-python-client", "generate", "--path", SCHEMA, "--meta", "none"),
            *("--config", SDK / "openapi-python-client.yaml"),
            *("--output-path", tmp_path / "rapport_client"),
        ]
    )
    await run_async(
        [
            *(sys.executable, "-m", "mypy", "--config-file", SDK / "mypy.ini"),
            *("--cache-dir", tmp_path / ".mypy_cache", tmp_path / "rapport_client"),
            SDK / "journey.py",
        ],
        env={"MYPYPATH": str(tmp_path)},
    )
    output = await run_async(
        [sys.executable, SDK / "journey.py", *server.args], env={"PYTHONPATH": str(tmp_path)}
    )
    assert "python journey: ok" in output


NODE, NPM = shutil.which("node"), shutil.which("npm")
OLDEST_NODE = (20, 19)  # @hey-api/openapi-ts 0.95's `engines`


def node_version() -> tuple[int, ...]:
    if NODE is None:
        return ()
    printed = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True)
    return tuple(int(part) for part in printed.stdout.strip().lstrip("v").split(".")[:2])


@pytest.mark.skipif(NODE is None or NPM is None, reason="node and npm are not installed")
@pytest.mark.skipif(
    NODE is not None and node_version() < OLDEST_NODE,
    reason=f"@hey-api/openapi-ts needs node >= {'.'.join(map(str, OLDEST_NODE))}",
)
async def test_the_typescript_client_type_checks_and_walks_the_journey(
    server: Server, tmp_path: Path
) -> None:
    assert NODE is not None
    tools = SDK / "node_modules" / ".bin"
    assert (tools / "openapi-ts").exists(), "run `npm ci` in tests/sdk (.ci/run does)"
    for name in ("journey.ts", "tsconfig.json"):
        shutil.copy(SDK / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"private": true, "type": "module"}\n')
    (tmp_path / "node_modules").symlink_to(SDK / "node_modules", target_is_directory=True)
    await run_async(
        [tools / "openapi-ts", "-f", SDK / "openapi-ts.config.mjs", "--no-log-file", "-s"],
        cwd=SDK,
        env={"RAPPORT_SDK_SCHEMA": str(SCHEMA), "RAPPORT_SDK_OUT": str(tmp_path / "client")},
    )
    await run_async([tools / "tsc", "--noEmit", "-p", tmp_path])
    await run_async([tools / "tsc", "--noCheck", "-p", tmp_path])  # checked just above
    output = await run_async([NODE, tmp_path / "dist" / "journey.js", *server.args])
    assert "typescript journey: ok" in output
