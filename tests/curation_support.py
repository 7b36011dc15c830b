"""Curating prompt libraries through HTTP with a curator's token."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Person

ADMIN = "admin:content"
READ = "prompts:read"
LIBRARIES = "/v1/admin/libraries"


def prompt_body(text: str, **fields: Any) -> dict[str, Any]:
    return {"text": text, "category": "share", "depth": 2, **fields}


async def create_library(
    client: httpx.AsyncClient, curator: Person, slug: str = "first-steps", **fields: Any
) -> dict[str, Any]:
    body = {"slug": slug, "title": "First steps", "locale": "en", "stages": ["new"], **fields}
    response = await client.post(LIBRARIES, json=body, headers=curator.headers(ADMIN))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def add_prompt(
    client: httpx.AsyncClient, curator: Person, library_id: str, text: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{LIBRARIES}/{library_id}/prompts",
        json=prompt_body(text, **fields),
        headers=curator.headers(ADMIN),
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def move(
    client: httpx.AsyncClient, curator: Person, library_id: str, action: str
) -> httpx.Response:
    return await client.post(f"{LIBRARIES}/{library_id}/{action}", headers=curator.headers(ADMIN))


async def publish(
    client: httpx.AsyncClient, curator: Person, library_id: str, *, reviewer: Person
) -> dict[str, Any]:
    """Submitted by `curator`, published by `reviewer` (a curator never reviews their own)."""
    submitted = await move(client, curator, library_id, "submit")
    assert submitted.status_code == 200, submitted.text
    response = await move(client, reviewer, library_id, "publish")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def patch(
    client: httpx.AsyncClient, curator: Person, url: str, body: dict[str, Any]
) -> httpx.Response:
    current = await client.get(url, headers=curator.headers(ADMIN))
    assert current.status_code == 200, current.text
    headers = {**curator.headers(ADMIN), "If-Match": current.headers["ETag"]}
    return await client.patch(url, json=body, headers=headers)


async def member_prompts(client: httpx.AsyncClient, member: Person, **query: Any) -> list[Any]:
    response = await client.get("/v1/prompts", params=query, headers=member.headers(READ))
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def member_libraries(client: httpx.AsyncClient, member: Person) -> list[Any]:
    response = await client.get("/v1/libraries", headers=member.headers(READ))
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
