"""What the app sends is what the published schema declares: real requests, per kind of
operation (a read, a conditional read, a change under If-Match, a creation, a private
creation, a public read, a refusal for size, for a NUL, for a rate limit), compared with
the operation's declared statuses, headers and parameters.

Also: literal paths beside templated ones answer 405 with their own `Allow`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.conftest import PUBLIC_URL, MakeUser, Person
from tests.factories import COUPLE_READ, COUPLE_WRITE, pair

# Headers whose presence the schema promises or describes; the others (content-type,
# content-length, ...) are HTTP's own.
DESCRIBED = (
    "etag",
    "location",
    "x-request-id",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "cache-control",
    "idempotent-replayed",
    "content-language",
)
PROFILE, JOURNAL_WRITE, JOURNAL_READ = "profile", "journal:write", "journal:read"


@pytest.fixture
def schema(app: FastAPI) -> dict[str, Any]:
    # The schema of the app that answers (built once per run and kept by FastAPI).
    return app.openapi()


def _operation(schema: dict[str, Any], method: str, template: str) -> dict[str, Any]:
    return schema["paths"][template][method.lower()]  # type: ignore[no-any-return]


def _resolve(schema: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    ref = value.get("$ref")
    if ref is None:
        return value
    node: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]


def assert_declared(
    schema: dict[str, Any], template: str, response: httpx.Response
) -> dict[str, Any]:
    """The status is declared; each described header sent is declared for it; each header
    declared required is sent and matches its pattern."""
    operation = _operation(schema, response.request.method, template)
    status = str(response.status_code)
    label = f"{response.request.method} {template} {status}"
    assert status in operation["responses"], f"{label}: status not declared"
    declared = {
        name.lower(): _resolve(schema, header)
        for name, header in operation["responses"][status].get("headers", {}).items()
    }
    sent = {name.lower() for name in response.headers}
    undeclared = sorted(name for name in sent if name in DESCRIBED and name not in declared)
    assert not undeclared, f"{label}: sends {undeclared} without declaring them"
    for name, header in declared.items():
        if header.get("required"):
            assert name in sent, f"{label}: declares {name} required but does not send it"
            pattern = header.get("schema", {}).get("pattern")
            if pattern:
                assert re.fullmatch(pattern, response.headers[name]), (label, name)
    return operation


def _parameter(schema: dict[str, Any], operation: dict[str, Any], name: str) -> dict[str, Any]:
    for parameter in operation.get("parameters", []):
        resolved = _resolve(schema, parameter)
        if resolved["name"].lower() == name.lower():
            return resolved
    raise AssertionError(f"{name} is not a declared parameter")


@pytest.fixture
async def person(make_user: MakeUser) -> Person:
    return await make_user()


async def test_a_read_and_a_conditional_read(
    schema: dict[str, Any], client: httpx.AsyncClient, person: Person
) -> None:
    read = await client.get("/v1/me", headers=person.headers(PROFILE))
    operation = assert_declared(schema, "/v1/me", read)
    assert _parameter(schema, operation, "If-None-Match")["in"] == "header"
    again = await client.get(
        "/v1/me", headers={**person.headers(PROFILE), "If-None-Match": read.headers["etag"]}
    )
    assert again.status_code == 304
    assert_declared(schema, "/v1/me", again)


async def test_a_change_under_if_match_optional_and_required(
    schema: dict[str, Any], client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    first, second = await make_user(), await make_user()
    await pair(client, first, second)
    stale = await client.patch(
        "/v1/me",
        json={"display_name": "Ada"},
        headers={**first.headers(PROFILE), "If-Match": '"0"'},
    )
    assert stale.status_code == 412
    operation = assert_declared(schema, "/v1/me", stale)
    assert _parameter(schema, operation, "If-Match")["required"] is False
    changed = await client.patch(
        "/v1/me", json={"display_name": "Ada"}, headers=first.headers(PROFILE)
    )
    assert changed.status_code == 200
    assert_declared(schema, "/v1/me", changed)

    couple_headers = first.headers(COUPLE_READ, COUPLE_WRITE)
    unconditional = await client.patch(
        "/v1/couples/me", json={"max_depth": 2}, headers=couple_headers
    )
    assert unconditional.status_code == 428
    operation = assert_declared(schema, "/v1/couples/me", unconditional)
    assert _parameter(schema, operation, "If-Match")["required"] is True
    etag = (await client.get("/v1/couples/me", headers=couple_headers)).headers["etag"]
    conditional = await client.patch(
        "/v1/couples/me", json={"max_depth": 2}, headers={**couple_headers, "If-Match": etag}
    )
    assert conditional.status_code == 200, conditional.text
    assert_declared(schema, "/v1/couples/me", conditional)
    assert "304" not in _operation(schema, "PATCH", "/v1/couples/me")["responses"]


async def test_creations_public_reads_and_deletions(
    schema: dict[str, Any], client: httpx.AsyncClient, person: Person
) -> None:
    created = await client.post("/v1/couples", headers=person.headers(COUPLE_READ, COUPLE_WRITE))
    assert created.status_code == 201
    assert_declared(schema, "/v1/couples", created)
    assert created.json()["invite"]["code"]

    entry = await client.post(
        "/v1/journal", json={"body": "A note to myself."}, headers=person.headers(JOURNAL_WRITE)
    )
    assert entry.status_code == 201, entry.text
    assert_declared(schema, "/v1/journal", entry)
    deleted = await client.delete(entry.headers["location"], headers=person.headers(JOURNAL_WRITE))
    assert deleted.status_code == 204
    assert_declared(schema, "/v1/journal/{entry_id}", deleted)

    public = await client.get("/v1/vocabularies/emotions")
    operation = assert_declared(schema, "/v1/vocabularies/emotions", public)
    assert operation["security"] == []
    cached = await client.get(
        "/v1/vocabularies/emotions", headers={"If-None-Match": public.headers["etag"]}
    )
    assert cached.status_code == 304
    assert_declared(schema, "/v1/vocabularies/emotions", cached)


async def test_refusals_every_operation_can_answer(
    schema: dict[str, Any], client: httpx.AsyncClient, person: Person
) -> None:
    nul = await client.get("/healthz?probe=%00")
    assert nul.status_code == 422
    assert_declared(schema, "/healthz", nul)
    too_large = await client.post(
        "/v1/journal",
        content=b'{"body": "' + b"x" * (1024 * 1024 + 1) + b'"}',
        headers={**person.headers(JOURNAL_WRITE), "Content-Type": "application/json"},
    )
    assert too_large.status_code == 413
    assert_declared(schema, "/v1/journal", too_large)
    oauth_refusal = await client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert oauth_refusal.status_code in (400, 401)
    assert_declared(schema, "/oauth/token", oauth_refusal)
    unauthenticated = await client.get("/v1/journal")
    assert unauthenticated.status_code == 401
    assert_declared(schema, "/v1/journal", unauthenticated)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert "422" in operation["responses"], f"{method} {path}"
            if method in ("post", "put", "patch"):
                assert "413" in operation["responses"], f"{method} {path}"


@pytest.fixture
async def tight(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    settings = app.state.settings.model_copy(update={"signup_max_per_ip": 1})
    tight_app = create_app(settings)
    tight_app.state._state.update(
        {name: value for name, value in app.state._state.items() if name != "settings"}
    )
    tight_app.state.rate_limit_backend = None
    transport = httpx.ASGITransport(app=tight_app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


async def test_a_rate_limited_refusal_declares_its_headers(
    schema: dict[str, Any], tight: httpx.AsyncClient
) -> None:
    def sign_up(n: int) -> dict[str, str]:
        return {
            "email": f"limited{n}@example.org",
            "password": "correct horse battery",
            "display_name": f"Limited {n}",
        }

    first = await tight.post("/v1/users", json=sign_up(1))
    assert first.status_code == 201, first.text
    assert_declared(schema, "/v1/users", first)
    refused = await tight.post("/v1/users", json=sign_up(2))
    assert refused.status_code == 429
    assert_declared(schema, "/v1/users", refused)
    assert {"retry-after", "ratelimit", "ratelimit-policy"} <= set(refused.headers)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v1/journal/tags", "GET"),
        ("DELETE", "/v1/journal/tags", "GET"),
        ("PATCH", "/v1/journal/patterns", "GET"),
        ("GET", "/v1/admin/libraries/import", "POST"),
        ("PATCH", "/v1/admin/libraries/import", "POST"),
        ("PUT", "/v1/couples/me/prompts/today", "GET"),
        ("GET", "/v1/couples/me/repair-plans/{plan}/steps/order", "PUT"),
        ("PATCH", "/v1/couples/me/repair-plans/{plan}/steps/order", "PUT"),
    ],
)
async def test_a_literal_path_beside_a_template_answers_405_with_its_own_allow(
    client: httpx.AsyncClient, person: Person, method: str, path: str, allow: str
) -> None:
    path = path.format(plan="0b7a8c34-8a4c-4a52-a1ad-22f6c6f0f3c1")
    response = await client.request(method, path, headers=person.headers(PROFILE))
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow


async def test_a_templated_path_still_serves_its_ids(
    client: httpx.AsyncClient, person: Person
) -> None:
    missing = "/v1/journal/0b7a8c34-8a4c-4a52-a1ad-22f6c6f0f3c1"
    assert (await client.get(missing, headers=person.headers(JOURNAL_READ))).status_code == 404
    not_an_id = await client.get("/v1/journal/tagz", headers=person.headers(JOURNAL_READ))
    assert not_an_id.status_code == 404
