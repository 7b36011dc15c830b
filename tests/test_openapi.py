"""The published schema: committed, current, and held to our conventions.

These tests read the schema only; they start no server and touch no database.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from app.config import Settings
from app.core.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA_REF
from app.core.security import Scope
from app.main import create_app
from app.openapi import SCHEMA_PATH, render

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
OPERATION_ID = re.compile(r"^[a-z]+(_[a-z]+)+$")
SCOPE_CATALOG = {scope.value for scope in Scope}
# The OAuth endpoints answer errors as RFC 6749 §5.2 JSON (`error`, `error_description`),
# which OAuth client libraries expect; every other error is an RFC 9457 problem.
OAUTH_TAG = "oauth"

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    # Defaults only, like `rapport openapi` in a clean checkout; logging settings do not
    # shape the schema and are quiet here so the rest of the run is not reconfigured loudly.
    settings = Settings(log_level="WARNING", log_json=False, _env_file=None)
    return create_app(settings).openapi()


def operations(schema: dict[str, Any]) -> Iterator[Operation]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _label(path: str, method: str) -> str:
    return f"{method.upper()} {path}"


def test_the_committed_schema_is_current(schema: dict[str, Any]) -> None:
    current = render(schema)
    committed = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
    if committed != current:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    current.splitlines(keepends=True),
                    "openapi/openapi.json (committed)",
                    "openapi/openapi.json (the app)",
                )
            )[:60]
        )
        pytest.fail(
            f"{SCHEMA_PATH} is out of date: run `rapport openapi` and commit the result.\n{diff}"
        )


def test_openapi_version_is_3_1(schema: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", schema["openapi"]), schema["openapi"]


def test_every_operation_has_one_tag_a_summary_and_a_unique_snake_case_id(
    schema: dict[str, Any],
) -> None:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path, method, operation in operations(schema):
        label = _label(path, method)
        tags = operation.get("tags") or []
        if len(tags) != 1:
            problems.append(f"{label}: needs exactly one tag, has {tags}")
        if not (operation.get("summary") or "").strip():
            problems.append(f"{label}: has no summary")
        operation_id = operation.get("operationId") or ""
        if not OPERATION_ID.fullmatch(operation_id):
            problems.append(f"{label}: operationId {operation_id!r} is not like `feature_action`")
        if operation_id in seen:
            problems.append(f"{label}: operationId {operation_id!r} repeats {seen[operation_id]}")
        seen[operation_id] = label
    assert not problems, "\n".join(problems)


def _security_scopes(operation: dict[str, Any]) -> list[str] | None:
    if "security" not in operation:
        return None
    return [
        scope
        for requirement in operation["security"]
        for scopes in requirement.values()
        for scope in scopes
    ]


def test_guarded_operations_declare_known_oauth_scopes(schema: dict[str, Any]) -> None:
    schemes = schema.get("components", {}).get("securitySchemes", {})
    problems: list[str] = []
    for path, method, operation in operations(schema):
        if not operation.get("security"):
            continue  # public: `security: []`
        label = _label(path, method)
        for requirement in operation["security"]:
            for name, scopes in requirement.items():
                if schemes.get(name, {}).get("type") != "oauth2":
                    problems.append(f"{label}: security scheme {name!r} is not an OAuth 2 scheme")
                unknown = sorted(set(scopes) - SCOPE_CATALOG)
                if unknown:
                    problems.append(f"{label}: scopes {unknown} are not in app.core.security.Scope")
        if not _security_scopes(operation):
            problems.append(f"{label}: declares security without any scope")
    assert not problems, "\n".join(problems)


def _is_problem_response(response: dict[str, Any]) -> bool:
    content = response.get("content") or {}
    return set(content) == {PROBLEM_MEDIA_TYPE} and content[PROBLEM_MEDIA_TYPE].get("schema") == {
        "$ref": PROBLEM_SCHEMA_REF
    }


def test_guarded_operations_document_401_and_403_problems(schema: dict[str, Any]) -> None:
    problems: list[str] = []
    for path, method, operation in operations(schema):
        if not operation.get("security"):
            continue
        responses = operation.get("responses", {})
        for status in ("401", "403"):
            response = responses.get(status)
            if response is None:
                problems.append(f"{_label(path, method)}: does not document {status}")
            elif OAUTH_TAG not in operation.get("tags", []) and not _is_problem_response(response):
                problems.append(f"{_label(path, method)}: {status} is not a problem response")
    assert not problems, "\n".join(problems)


def test_every_error_response_is_a_problem(schema: dict[str, Any]) -> None:
    assert "Problem" in schema["components"]["schemas"]
    problems: list[str] = []
    for path, method, operation in operations(schema):
        if OAUTH_TAG in operation.get("tags", []):
            continue  # RFC 6749 error JSON, see OAUTH_TAG
        for status, response in operation.get("responses", {}).items():
            if status[0] in "45" and not _is_problem_response(response):
                content = sorted((response.get("content") or {}).keys())
                problems.append(
                    f"{_label(path, method)}: {status} must be {PROBLEM_MEDIA_TYPE} with the "
                    f"Problem schema (see app.core.problems.responses_for), has {content}"
                )
    assert not problems, "\n".join(problems)


def test_the_oauth2_scheme_offers_authorization_code_and_client_credentials(
    schema: dict[str, Any],
) -> None:
    schemes = schema["components"]["securitySchemes"]
    oauth = [scheme for scheme in schemes.values() if scheme.get("type") == "oauth2"]
    assert len(oauth) == 1, schemes
    flows = oauth[0]["flows"]
    code = flows["authorizationCode"]
    assert code["authorizationUrl"].endswith("/oauth/authorize")
    assert code["tokenUrl"].endswith("/oauth/token")
    assert set(code["scopes"]) == SCOPE_CATALOG
    assert all(isinstance(text, str) and text for text in code["scopes"].values())
    credentials = flows["clientCredentials"]
    assert credentials["tokenUrl"].endswith("/oauth/token")
    assert set(credentials["scopes"]) <= SCOPE_CATALOG
