"""Idempotency-Key on POST (app.core.idempotency), on real endpoints and on test routes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.events import append_event
from app.core.idempotency_store import (
    CLAIM_LEASE,
    Claim,
    IdempotencyStore,
    KeyedRequest,
    purge_expired,
)
from app.db import SessionDep
from app.models import Event, IdempotencyRecord, User
from app.models.base import utcnow
from tests.conftest import DEFAULT_PASSWORD, MakeUser
from tests.derived_app import client_for, derived_app

SIGN_UP = {"email": "ann@example.org", "password": "correct horse battery", "display_name": "Ann"}
NEW_PASSWORD = {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase"}


def keyed(key: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key, **(headers or {})}


async def count(session_maker: async_sessionmaker[AsyncSession], model: Any, *where: Any) -> int:
    async with session_maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --- replays on the real endpoints ---------------------------------------------------------


async def test_a_retried_sign_up_replays_the_first_response_and_creates_one_account(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post("/v1/users", json=SIGN_UP, headers=keyed("sign-up-1"))
    again = await client.post("/v1/users", json=SIGN_UP, headers=keyed("sign-up-1"))
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    for header in ("location", "etag", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await count(sessionmaker, User) == 1
    assert await count(sessionmaker, Event, Event.type == "user.created") == 1


async def test_the_same_json_spelled_differently_is_the_same_request(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    respelled = json.dumps(dict(reversed(SIGN_UP.items())), indent=2)
    again = await client.post(
        "/v1/users", content=respelled, headers=keyed("k", {"Content-Type": "application/json"})
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


async def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))).status_code == 201
    other = await client.post(
        "/v1/users", json={**SIGN_UP, "email": "bob@example.org"}, headers=keyed("k")
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    problem = other.json()
    assert problem["type"] == "/problems/idempotency-key-reused"
    assert problem["errors"] == [
        {"header": "Idempotency-Key", "detail": "was used for another request"}
    ]
    assert "x-request-id" in other.headers
    assert await count(sessionmaker, User) == 1
    assert await count(sessionmaker, IdempotencyRecord) == 1


async def test_the_same_key_on_another_path_is_another_request(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("k", ann.headers("profile"))
    )
    elsewhere = await client.post(
        "/v1/users", json=NEW_PASSWORD, headers=keyed("k", ann.headers("profile"))
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["type"] == "/problems/idempotency-key-reused"


async def test_a_replayed_password_change_does_not_change_it_twice(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    headers = keyed("change-1", ann.headers("profile"))
    first = await client.post("/v1/me/password", json=NEW_PASSWORD, headers=headers)
    # The change revoked the token that made it: a replay needs a token issued since.
    revoked = await client.post("/v1/me/password", json=NEW_PASSWORD, headers=headers)
    assert revoked.status_code == 401
    headers = keyed("change-1", ann.headers("profile"))
    again = await client.post("/v1/me/password", json=NEW_PASSWORD, headers=headers)
    assert first.status_code == again.status_code == 204
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == b""
    assert await count(sessionmaker, Event, Event.type == "user.password_changed") == 1
    # Without the key the request runs again, and the old password no longer works.
    unkeyed = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=ann.headers("profile")
    )
    assert unkeyed.status_code == 422


async def test_callers_do_not_share_keys(
    client: httpx.AsyncClient, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann, bob = await make_user(), await make_user()
    as_ann = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("shared", ann.headers("profile"))
    )
    as_bob = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("shared", bob.headers("profile"))
    )
    # The same person through another app is another caller too.
    as_ann_elsewhere = await client.post(
        "/v1/me/password",
        json={"current_password": "a brand new passphrase", "new_password": DEFAULT_PASSWORD},
        headers=keyed("shared", ann.headers("profile", client_id="partner-app")),
    )
    anonymous = await client.post("/v1/users", json=SIGN_UP, headers=keyed("shared"))
    for response in (as_ann, as_bob, as_ann_elsewhere):
        assert response.status_code == 204
        assert "idempotent-replayed" not in response.headers
    assert anonymous.status_code == 201
    assert await count(sessionmaker, Event, Event.type == "user.password_changed") == 3
    assert await count(sessionmaker, IdempotencyRecord, IdempotencyRecord.key == "shared") == 4


async def test_client_errors_are_stored_and_replayed(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user(email=SIGN_UP["email"])
    first = await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    again = await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    assert first.status_code == again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json() == first.json()


async def test_a_refusal_of_the_token_releases_the_key(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    narrow = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("k", ann.headers("couple:read"))
    )
    assert narrow.status_code == 403
    granted = await client.post(
        "/v1/me/password", json=NEW_PASSWORD, headers=keyed("k", ann.headers("profile"))
    )
    assert granted.status_code == 204
    assert "idempotent-replayed" not in granted.headers


async def test_an_expired_key_counts_as_absent(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))).status_code == 201
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    other = await client.post(
        "/v1/users", json={**SIGN_UP, "email": "bob@example.org"}, headers=keyed("k")
    )
    assert other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert await count(sessionmaker, User) == 2


async def test_the_ttl_comes_from_the_settings(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    await client.post("/v1/users", json=SIGN_UP, headers=keyed("k"))
    async with sessionmaker() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.caller == "anonymous"
    assert record.completed_at is not None
    ttl = record.expires_at - record.created_at
    assert ttl == timedelta(seconds=app.state.settings.idempotency_ttl_seconds)


async def test_purging_removes_only_expired_records(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await client.post("/v1/users", json=SIGN_UP, headers=keyed("old"))
    await client.post("/v1/users", json={**SIGN_UP, "email": "b@example.org"}, headers=keyed("new"))
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    async with sessionmaker() as session, session.begin():
        assert await purge_expired(session) == 1
    async with sessionmaker() as session:
        assert list(await session.scalars(select(IdempotencyRecord.key))) == ["new"]


@pytest.mark.parametrize(
    "value",
    [b"", b"x" * 256, "ключ".encode(), "clé".encode("latin-1"), b"tab\there"],
    ids=["empty", "too-long", "utf-8", "latin-1", "control-character"],
)
async def test_an_invalid_key_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], value: bytes
) -> None:
    response = await client.post("/v1/users", json=SIGN_UP, headers={b"Idempotency-Key": value})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/invalid-idempotency-key"
    assert problem["errors"][0]["header"] == "Idempotency-Key"
    assert await count(sessionmaker, User) == 0


async def test_two_keys_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/users", json=SIGN_UP, headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    )
    assert response.status_code == 422


async def test_the_longest_key_and_printable_punctuation_are_accepted(
    client: httpx.AsyncClient,
) -> None:
    for key in ("k" * 255, "~!@#$%^&*()_+{}|:<>? with spaces"):
        response = await client.post(
            "/v1/users", json={**SIGN_UP, "email": f"{len(key)}@example.org"}, headers=keyed(key)
        )
        assert response.status_code == 201, response.text


async def test_other_methods_and_oauth_endpoints_ignore_the_header(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    read = await client.get("/v1/me", headers=keyed("", ann.headers("profile")))
    assert read.status_code == 200
    oauth = await client.post("/oauth/not-a-route", headers=keyed(""))
    assert oauth.status_code == 404


# --- in flight, crashes and secrets, on test routes -----------------------------------------


class SlowRoute:
    """A POST that waits for the test to let it finish."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.proceed = asyncio.Event()
        self.calls = 0
        self.router = APIRouter()
        self.router.add_api_route("/test/slow", self.handle, methods=["POST"], status_code=201)

    async def handle(self, body: dict[str, int]) -> dict[str, int]:
        self.calls += 1
        self.entered.set()
        await self.proceed.wait()
        return {"calls": self.calls, **body}


@pytest.fixture
def slow() -> SlowRoute:
    return SlowRoute()


@pytest.fixture
async def slow_client(app: FastAPI, slow: SlowRoute) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(derived_app(app, slow.router)) as http:
        yield http


async def test_a_duplicate_while_the_first_is_in_flight_is_a_409(
    slow_client: httpx.AsyncClient, slow: SlowRoute
) -> None:
    first = asyncio.create_task(slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k")))
    await asyncio.wait_for(slow.entered.wait(), timeout=10)

    duplicate = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    assert duplicate.json()["type"] == "/problems/idempotency-key-in-flight"
    assert duplicate.headers["retry-after"] == "1"
    different = await slow_client.post("/test/slow", json={"n": 2}, headers=keyed("k"))
    assert different.status_code == 422

    slow.proceed.set()
    done = await asyncio.wait_for(first, timeout=10)
    assert done.status_code == 201
    replay = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == done.json() == {"calls": 1, "n": 1}
    assert slow.calls == 1


async def test_concurrent_duplicates_let_exactly_one_through(
    slow_client: httpx.AsyncClient, slow: SlowRoute
) -> None:
    slow.proceed.set()  # each attempt finishes at once: the duplicates race the first
    responses = await asyncio.gather(
        *(slow_client.post("/test/slow", json={"n": 1}, headers=keyed("race")) for _ in range(6))
    )
    assert slow.calls == 1
    ran = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"] == "/problems/idempotency-key-in-flight"
            assert response.headers["retry-after"] == "1"
        else:
            assert response.status_code == 201
            assert response.json() == {"calls": 1, "n": 1}


def store_for(app: FastAPI) -> IdempotencyStore:
    return IdempotencyStore(
        app.state.sessionmaker, app.state.reading_sessionmaker, ttl=timedelta(days=1)
    )


async def test_a_claim_abandoned_by_a_dead_request_is_taken_over(
    app: FastAPI,
    slow_client: httpx.AsyncClient,
    slow: SlowRoute,
    sessionmaker: async_sessionmaker[AsyncSession],
    is_postgres: bool,
) -> None:
    store = store_for(app)
    request = KeyedRequest(caller="anonymous", key="k", fingerprint="another request")
    async with sessionmaker() as holder:  # a request that claimed the key and is running
        claimed = await store.claim(holder, request)
        assert isinstance(claimed, Claim)
        blocked = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
        assert blocked.status_code == 422  # another request's live claim
        await holder.rollback()  # its process dies: its transaction ends, nothing committed
    if not is_postgres:  # SQLite cannot tell a dead claim from a slow one before its lease ends
        blocked = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
        assert blocked.status_code == 422
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(IdempotencyRecord).values(created_at=utcnow() - CLAIM_LEASE)
            )
    slow.proceed.set()
    taken_over = await slow_client.post("/test/slow", json={"n": 1}, headers=keyed("k"))
    assert taken_over.status_code == 201
    assert slow.calls == 1
    assert await count(sessionmaker, IdempotencyRecord) == 1


class WritingRoute:
    """A POST that waits for the test, then records an event in the request's session."""

    def __init__(self, user_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.entered = asyncio.Event()
        self.proceed = asyncio.Event()
        self.router = APIRouter()
        self.router.add_api_route("/test/write", self.handle, methods=["POST"], status_code=201)

    async def handle(self, session: SessionDep) -> dict[str, str]:
        self.entered.set()
        await self.proceed.wait()
        event = await append_event(session, "user.created", user_id=self.user_id)
        await session.flush()
        return {"event": str(event.id)}


async def test_a_request_whose_claim_was_taken_over_keeps_no_change(
    app: FastAPI, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    before = await count(sessionmaker, Event)
    route = WritingRoute(ann.id)
    async with client_for(derived_app(app, route.router)) as http:
        late = asyncio.create_task(http.post("/test/write", headers=keyed("k")))
        await asyncio.wait_for(route.entered.wait(), timeout=10)
        # Its claim outlived its lease (SQLite) and a retry took the key over.
        async with sessionmaker() as session, session.begin():
            await session.execute(update(IdempotencyRecord).values(id=uuid.uuid4()))
        route.proceed.set()
        response = await asyncio.wait_for(late, timeout=10)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/idempotency-key-in-flight"
    assert await count(sessionmaker, Event) == before
    async with sessionmaker() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.completed_at is None  # the retry's claim, untouched


async def test_an_endpoint_that_fails_keeps_no_change_and_frees_the_key(
    app: FastAPI, make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    before = await count(sessionmaker, Event)
    route = WritingRoute(ann.id)
    route.proceed.set()

    async def break_after_writing(session: SessionDep) -> None:
        await route.handle(session)
        raise RuntimeError("the endpoint breaks after its change")

    route.router.add_api_route("/test/break", break_after_writing, methods=["POST"])
    async with client_for(derived_app(app, route.router)) as http:
        broken = await http.post("/test/break", headers=keyed("k"))
        assert broken.status_code == 500
        assert await count(sessionmaker, Event) == before
        assert await count(sessionmaker, IdempotencyRecord) == 0
        written = await http.post("/test/write", headers=keyed("k2"))
        assert written.status_code == 201
    assert await count(sessionmaker, Event) == before + 1


class FlakyRoute:
    """Fails the first time (crash or 503), succeeds afterwards."""

    def __init__(self) -> None:
        self.calls = 0
        self.router = APIRouter()
        self.router.add_api_route("/test/crash", self.crash, methods=["POST"], status_code=201)
        self.router.add_api_route("/test/busy", self.busy, methods=["POST"], status_code=201)
        self.router.add_api_route("/test/secret", self.secret, methods=["POST"], status_code=201)

    async def crash(self) -> dict[str, int]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the first attempt breaks")
        return {"calls": self.calls}

    async def busy(self) -> Any:
        self.calls += 1
        if self.calls == 1:
            return JSONResponse({"busy": True}, status_code=503)
        return {"calls": self.calls}

    async def secret(self) -> JSONResponse:
        self.calls += 1
        return JSONResponse(
            {"secret": f"whsec_{self.calls}"},
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )


@pytest.fixture
def flaky() -> FlakyRoute:
    return FlakyRoute()


@pytest.fixture
async def flaky_client(app: FastAPI, flaky: FlakyRoute) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(derived_app(app, flaky.router)) as http:
        yield http


@pytest.mark.parametrize("path", ["/test/crash", "/test/busy"])
async def test_a_server_error_releases_the_key_for_a_retry(
    flaky_client: httpx.AsyncClient,
    flaky: FlakyRoute,
    sessionmaker: async_sessionmaker[AsyncSession],
    path: str,
) -> None:
    failed = await flaky_client.post(path, headers=keyed("k"))
    assert failed.status_code >= 500
    assert await count(sessionmaker, IdempotencyRecord) == 0
    retried = await flaky_client.post(path, headers=keyed("k"))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    replayed = await flaky_client.post(path, headers=keyed("k"))
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == retried.json() == {"calls": 2}


async def test_a_response_carrying_a_secret_is_not_stored_nor_replayed(
    flaky_client: httpx.AsyncClient,
    flaky: FlakyRoute,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = await flaky_client.post("/test/secret", headers=keyed("k"))
    assert first.json() == {"secret": "whsec_1"}
    async with sessionmaker() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.response_body is None
    assert record.response_status == 201
    again = await flaky_client.post("/test/secret", headers=keyed("k"))
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/idempotent-response-withheld"
    assert "whsec_" not in again.text
    assert flaky.calls == 1


# --- the published schema -------------------------------------------------------------------


def test_every_post_declares_the_header_and_its_problems(app: FastAPI) -> None:
    schema = app.openapi()
    sign_up = schema["paths"]["/v1/users"]["post"]
    header = next(p for p in sign_up["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert header["required"] is False
    assert header["schema"]["maxLength"] == 255
    assert "Idempotency-Key" in sign_up["responses"]["409"]["description"]
    assert "already registered" in sign_up["responses"]["409"]["description"]
    assert "Idempotency-Key" in sign_up["responses"]["422"]["description"]
    assert "Idempotent-Replayed" in sign_up["responses"]["201"]["headers"]
    for path, item in schema["paths"].items():
        if "post" in item and not path.startswith("/oauth/"):
            names = [p["name"] for p in item["post"].get("parameters", [])]
            assert names.count("Idempotency-Key") == 1, path
        for method, operation in item.items():
            if method != "post":
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" not in names, (method, path)
