"""The published schema passes Redocly (`recommended`) and Spectral (`spectral:oas`) with no
error and no warning, and its breaking changes since the last release are announced.

The linters come from npm (`.ci/node`, installed by `.ci/run` with `npm ci`); without them
these tests skip, saying how to install them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from app.openapi_diff import announced, last_released, subject, unannounced

pytestmark = pytest.mark.slow

BIN = PROJECT_ROOT / ".ci" / "node" / "node_modules" / ".bin"
SCHEMA = "openapi/openapi.json"


def _tool(name: str) -> Path:
    tool = BIN / name
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the schema linters run on node (npm)")
    if not tool.exists():
        pytest.skip(f"{name} is not installed: run `npm ci` in .ci/node (as .ci/run does)")
    return tool


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    }
    return subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env, check=False
    )


def test_redocly_recommended_finds_nothing() -> None:
    result = _run(str(_tool("redocly")), "lint", SCHEMA, "--format=stylish")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.replace("Deprecation warning", ""), output


def test_spectral_oas_finds_nothing() -> None:
    result = _run(str(_tool("spectral")), "lint", SCHEMA, "--fail-severity=hint")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "No results with a severity of 'hint' or higher found!" in output, output


def test_breaking_changes_since_the_release_are_announced() -> None:
    if (
        shutil.which("api-schema-diff") is None
        and not Path(
            os.sys.executable  # type: ignore[attr-defined]
        )
        .with_name("api-schema-diff")
        .exists()
    ):
        pytest.skip("api-schema-diff is not installed (pip install -e '.[test]')")
    result = _run(sys.executable, "-m", "app.openapi_diff")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unannounced_break_is_caught() -> None:
    changes = [{"path": "operations.DELETE /v1/me.responses.202", "message": "Removed"}]
    assert subject(changes[0]) == "DELETE /v1/me"
    assert unannounced(changes, "## Unreleased\n\n### Added\n- `DELETE /v1/me`\n") == changes
    changelog = "## Unreleased\n\n### Breaking\n- `DELETE /v1/me` now ...\n\n## 1.0.0\n"
    assert unannounced(changes, changelog) == []
    assert announced("## 1.0.0\n### Breaking\n- `GET /x`\n") == set()
    assert last_released().name.startswith("openapi-")
