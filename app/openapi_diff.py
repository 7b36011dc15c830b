"""Compare the published schema with the last released one; fail on an unannounced break.

    python -m app.openapi_diff [--released FILE] [--current FILE] [--changelog FILE]

The comparison is `api-schema-diff` (PyPI); this module only decides which of the breaking
changes it reports are announced. A breaking change is announced when the `Unreleased`
section of CHANGELOG.md, under its `### Breaking` heading, names the operation it touches in
backticks (`` `PATCH /v1/couples/me` ``), or the schema path the tool reports. Releasing
copies openapi/openapi.json to openapi/released/openapi-<version>.json and renames the
`Unreleased` section after the version (docs/versioning.md).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from app.config import PROJECT_ROOT

RELEASED = PROJECT_ROOT / "openapi" / "released"
CURRENT = PROJECT_ROOT / "openapi" / "openapi.json"
CHANGELOG = PROJECT_ROOT / "CHANGELOG.md"
_VERSION = re.compile(r"openapi-(\d+)\.(\d+)\.(\d+)\.json$")
_TICKED = re.compile(r"`([^`]+)`")


def last_released(directory: Path = RELEASED) -> Path:
    files = [p for p in directory.glob("openapi-*.json") if _VERSION.search(p.name)]
    if not files:
        raise FileNotFoundError(f"no openapi-<version>.json in {directory}")
    return max(files, key=lambda p: tuple(int(n) for n in _VERSION.search(p.name).groups()))  # type: ignore[union-attr]


def breaking_changes(released: Path, current: Path) -> list[dict[str, str]]:
    """The tool's breaking changes, each with its schema `path` and `message`."""
    tool = shutil.which("api-schema-diff") or str(Path(sys.executable).with_name("api-schema-diff"))
    result = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [tool, str(released), str(current), "--format", "json", "--no-fail-on-breaking"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    return list(report.get("breaking", []))


def subject(change: dict[str, str]) -> str:
    """What a change touches: `METHOD /path` for an operation, else the reported path."""
    path = change.get("path", "")
    if path.startswith("operations."):
        return path.removeprefix("operations.").split(".", 1)[0]
    return path


def announced(changelog: str) -> set[str]:
    """The backticked names under `### Breaking` in the `## Unreleased` section."""
    names: set[str] = set()
    section = re.search(r"^## Unreleased\b(.*?)(?=^## |\Z)", changelog, re.M | re.S)
    if section is None:
        return names
    breaking = re.search(r"^### Breaking\b(.*?)(?=^### |\Z)", section.group(1), re.M | re.S)
    if breaking is not None:
        names.update(_TICKED.findall(breaking.group(1)))
    return names


def unannounced(changes: Iterable[dict[str, str]], changelog: str) -> list[dict[str, str]]:
    names = announced(changelog)
    return [c for c in changes if subject(c) not in names and c.get("path") not in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--released", type=Path, default=None)
    parser.add_argument("--current", type=Path, default=CURRENT)
    parser.add_argument("--changelog", type=Path, default=CHANGELOG)
    args = parser.parse_args(argv)
    released = args.released or last_released()
    changes = breaking_changes(released, args.current)
    missing = unannounced(changes, args.changelog.read_text(encoding="utf-8"))
    print(f"{len(changes)} breaking change(s) since {released.name}, {len(missing)} unannounced")
    for change in missing:
        print(f"  {subject(change)}: {change.get('message')} ({change.get('path')})")
    if missing:
        print(
            f"Announce them under `### Breaking` in the `## Unreleased` section of "
            f"{args.changelog.name} (name the operation in backticks), or undo them."
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
