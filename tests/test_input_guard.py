"""Input no field can store is refused alike on both engines, before any endpoint runs."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.input_guard import MAX_BODY_BYTES
from app.models import User

SIGN_UP = {"email": "nul@example.org", "password": "a long passphrase", "display_name": "N"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "nul@example.org", "password": "a long passphrase", "display_name": '
        b'"N\\u0000"}',
        b'{"email": "nul@example.org", "password": "a long\\u0000 passphrase", '
        b'"display_name": "N"}',
    ],
)
async def test_nul_characters_in_json_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, body: bytes
) -> None:
    response = await client.post(
        "/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "x-request-id" in response.headers
    assert await db.scalar(select(func.count()).select_from(User)) == 0


async def test_an_escaped_backslash_is_not_a_nul(client: httpx.AsyncClient) -> None:
    body = (
        b'{"email": "ok@example.org", "password": "a long passphrase", '
        b'"display_name": "a\\\\u0000b"}'
    )
    response = await client.post(
        "/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json()["display_name"] == "a\\u0000b"


async def test_nul_in_the_query_string_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/libraries?cursor=%00")).status_code == 422


async def test_oversized_bodies_are_refused(client: httpx.AsyncClient, db: AsyncSession) -> None:
    huge = {**SIGN_UP, "display_name": "x" * (MAX_BODY_BYTES + 1)}
    response = await client.post("/v1/users", json=huge)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/content-too-large"
    assert await db.scalar(select(func.count()).select_from(User)) == 0


async def test_unpaired_surrogates_are_refused_and_pairs_accepted(
    client: httpx.AsyncClient,
) -> None:
    lone = b'{"email": "s@example.org", "password": "a long passphrase", "display_name": "\\ud800"}'
    response = await client.post(
        "/v1/users", content=lone, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    pair = (
        b'{"email": "s@example.org", "password": "a long passphrase", '
        b'"display_name": "\\ud83d\\ude00"}'
    )
    response = await client.post(
        "/v1/users", content=pair, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json()["display_name"] == "\U0001f600"


async def test_a_repeated_key_is_refused_and_named(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    body = (
        b'{"email": "twice@example.org", "password": "a long passphrase", '
        b'"display_name": "First", "display_name": "Second"}'
    )
    response = await client.post(
        "/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert problem["errors"] == [
        {"pointer": "#/display_name", "detail": 'repeats the key "display_name"'}
    ]
    assert await db.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("tail", "pointer"),
    [
        (b'"extra": {"a": 1, "b": {"c/d": 1, "c/d": 2}}', "#/extra/b/c~1d"),
        (b'"extra": [{"k": 1}, {"k": 2, "k": 3}]', "#/extra/1/k"),
    ],
)
async def test_a_repeated_key_in_a_nested_object_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, tail: bytes, pointer: str
) -> None:
    body = (
        b'{"email": "nested@example.org", "password": "a long passphrase", '
        b'"display_name": "N", ' + tail + b"}"
    )
    response = await client.post(
        "/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == pointer
    assert await db.scalar(select(func.count()).select_from(User)) == 0


async def test_a_repeated_key_is_refused_whatever_the_declared_type(
    client: httpx.AsyncClient,
) -> None:
    # Some endpoints (the library import) read the body as JSON whatever its declared type.
    response = await client.post(
        "/v1/users", content=b'{"a": 1, "a": 1}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/a"


async def test_the_same_key_in_sibling_objects_is_not_a_repeat(
    client: httpx.AsyncClient,
) -> None:
    body = (
        b'{"email": "sib@example.org", "password": "a long passphrase", '
        b'"display_name": "S", "extra": [{"k": 1}, {"k": 2}]}'
    )
    response = await client.post(
        "/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    # The endpoint sees the body and refuses the unknown field, not the guard a repeat.
    assert response.json()["errors"] == [
        {"pointer": "#/extra", "detail": "Extra inputs are not permitted"}
    ]
