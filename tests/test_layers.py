"""Imports run downward: routers → services → models, with `core` below every feature.

The checker reads every module's syntax tree, so an import inside a function, under
`TYPE_CHECKING`, relative, or through `importlib.import_module("...")` counts as an edge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from app.config import PROJECT_ROOT

APP = PROJECT_ROOT / "app"

# For each layer, the layers above it that it must never import.
FORBIDDEN: Mapping[str, tuple[str, ...]] = {
    "app.core": ("app.services", "app.routers", "app.auth", "app.delivery", "app.content"),
    "app.models": ("app.services", "app.routers", "app.auth", "app.delivery", "app.content"),
    # Schemas sit at the HTTP edge beside the routers, so they may shape a service's view.
    "app.schemas": ("app.routers", "app.auth", "app.delivery", "app.content"),
    "app.services": ("app.routers", "app.auth", "app.content"),
    "app.delivery": ("app.routers", "app.auth", "app.content"),
    "app.auth": ("app.routers", "app.services", "app.content"),
    # The content checker is a tool beside the CLI: it loads files through the services (and
    # their schemas), never through HTTP; nothing of the app imports it.
    "app.content": ("app.routers", "app.auth", "app.delivery"),
}
# The server-rendered pages (sign-in and consent, the account pages beside them, the Apple
# and Google pages) are the one part of the OAuth server that calls services.
MAY_CALL_SERVICES = frozenset(
    {
        "app.auth.pages",
        "app.auth.account_pages",
        "app.auth.verify_pages",
        "app.auth.federation_pages",
    }
)


def module_name(path: Path, root: Path = PROJECT_ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(module: str, source: str, *, is_package: bool = False) -> set[str]:
    """Every module `source` imports, and `package.name` for each `from package import name`."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module, node.level)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}


def defines_a_router(source: str) -> bool:
    """A router module binds an `APIRouter(...)` at module level; a shared one does not."""
    for node in ast.parse(source).body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Call):
            func = value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "APIRouter":
                return True
    return False


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(sources: Mapping[str, str], packages: frozenset[str] = frozenset()) -> list[str]:
    """Every upward or sideways edge among `sources` (module name → source text);
    `packages` names the modules that are packages (`__init__.py`)."""
    routers = {
        name
        for name, source in sources.items()
        if _within(name, "app.routers") and defines_a_router(source)
    }
    found: list[str] = []
    for module, source in sources.items():
        imports = imported_modules(module, source, is_package=module in packages)
        found.extend(_upward(module, imports))
        if module in routers:
            found.extend(
                f"{module} imports the router {name}"
                for name in sorted(imports & routers)
                if name != module
            )
    return sorted(set(found))


def _upward(module: str, imports: set[str]) -> Iterator[str]:
    for layer, above in FORBIDDEN.items():
        if not _within(module, layer):
            continue
        for name in sorted(imports):
            for upper in above:
                if _within(name, upper) and not (
                    upper == "app.services" and module in MAY_CALL_SERVICES
                ):
                    yield f"{module} imports {name} ({layer} must not import {upper})"


def _app_sources() -> tuple[dict[str, str], frozenset[str]]:
    paths = sorted(APP.rglob("*.py"))
    sources = {module_name(path): path.read_text(encoding="utf-8") for path in paths}
    packages = frozenset(module_name(path) for path in paths if path.name == "__init__.py")
    return sources, packages


def test_the_app_imports_only_downward() -> None:
    sources, packages = _app_sources()
    assert len(sources) > 50 and "app.core.problems" in sources
    offenders = violations(sources, packages)
    assert not offenders, "\n".join(offenders)


def test_shared_router_plumbing_is_told_apart_from_routers() -> None:
    sources, _ = _app_sources()
    assert defines_a_router(sources["app.routers.libraries"])
    assert not defines_a_router(sources["app.routers.curation_routes"])
    assert not defines_a_router(sources["app.routers.repair_http"])


ROUTER = "from fastapi import APIRouter\nrouter = APIRouter()\n"


def test_a_planted_upward_edge_is_caught_however_it_is_written() -> None:
    planted = {
        "app.core.top": "from app.services import couples\n",
        "app.core.inner": "def f() -> None:\n    from app.routers.users import router\n",
        "app.core.relative": "from ..delivery import worker\n",
        "app.core.dotted": "import app.auth.store as store\n",
        "app.core.dynamic": "import importlib\nimportlib.import_module('app.services.users')\n",
        "app.services.up": "if True:\n    from app.auth import pages\n",
        "app.services.sideways": "from . import couples\nfrom ..routers import users\n",
        "app.services.checker": "from app.content.checks import check_content\n",
        "app.content.checks.http": "from app.routers.libraries import router\n",
    }
    offenders = violations(planted)
    for module in planted:
        assert any(line.startswith(module + " ") for line in offenders), (module, offenders)
    sideways = "app.services.sideways imports app.services"
    assert not any(line.startswith(sideways) for line in offenders)


def test_a_router_importing_another_router_is_caught() -> None:
    planted = {
        "app.routers.a": ROUTER + "from app.routers import b\n",
        "app.routers.b": ROUTER + "def f() -> None:\n    from app.routers.c import router\n",
        "app.routers.c": ROUTER + "from app.routers.shared import THING\n",
        "app.routers.shared": "THING = 1\n",
    }
    assert violations(planted) == [
        "app.routers.a imports the router app.routers.b",
        "app.routers.b imports the router app.routers.c",
    ]


def test_downward_edges_pass() -> None:
    fine = {
        "app.core.a": "from app.core import problems\nfrom app.models.users import User\n",
        "app.services.a": "from app.core.security import Member\nfrom app.services import b\n",
        "app.routers.a": ROUTER + "from app.services import a\nfrom app.routers.shared import X\n",
        "app.auth.pages": "from app.services import users\n",
        "app.content.checks.a": "from app.services.library_files import parse_library_file\n",
    }
    assert violations(fine) == []
