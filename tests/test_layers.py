"""Imports run downward: the OAuth server sits above the services, core below them."""

from __future__ import annotations

import ast
from pathlib import Path

from app.config import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
BELOW_AUTH = ("core", "services", "delivery", "schemas", "models")
# The sign-in and consent pages are the one part of the OAuth server that calls services.
AUTH_MAY_CALL_SERVICES = frozenset({"pages.py"})


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offenders(package: str, forbidden: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    return sorted(
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for path in (APP / package).rglob("*.py")
        if path.name not in allowed
        for name in _imported_modules(path)
        if name == forbidden or name.startswith(forbidden + ".")
    )


def test_nothing_below_the_oauth_server_imports_it() -> None:
    offenders = [line for package in BELOW_AUTH for line in _offenders(package, "app.auth")]
    assert not offenders, offenders


def test_only_the_auth_pages_call_services() -> None:
    offenders = _offenders("auth", "app.services", AUTH_MAY_CALL_SERVICES)
    assert not offenders, offenders
