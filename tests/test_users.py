"""Sign-up and the profile: /v1/users, /v1/me, /v1/me/password."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event, User
from tests.conftest import MakeUser, Person

SIGN_UP = {
    "email": "Ann.Example@Example.org",
    "password": "correct horse battery",
    "display_name": "Ann",
    "timezone": "Europe/Paris",
    "locale": "en-gb",
}


async def test_sign_up_creates_the_account_and_normalises_input(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    response = await client.post("/v1/users", json=SIGN_UP)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "Ann.Example@example.org"
    assert body["locale"] == "en-GB"
    assert body["role"] == "member"
    assert "password" not in response.text and "hash" not in response.text
    assert response.headers["location"] == "/v1/me"
    stored = await db.scalar(select(User))
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert (
        await db.scalar(select(func.count()).select_from(Event).where(Event.type == "user.created"))
        == 1
    )


async def test_emails_are_unique_case_insensitively(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    assert (await client.post("/v1/users", json=SIGN_UP)).status_code == 201
    again = await client.post("/v1/users", json={**SIGN_UP, "email": "ann.example@EXAMPLE.org"})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "/problems/email-taken"
    assert await db.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"password": "too short"}, "#/password"),
        ({"password": "ann.example@example.org"}, "#/password"),
        ({"timezone": "Mars/Olympus_Mons"}, "#/timezone"),
        ({"timezone": "../../etc/passwd"}, "#/timezone"),
        ({"locale": "not a locale"}, "#/locale"),
        ({"email": "not-an-email"}, "#/email"),
        ({"display_name": ""}, "#/display_name"),
        ({"role": "admin"}, "#/role"),
    ],
)
async def test_sign_up_rejects_bad_input_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, change: dict[str, str], pointer: str
) -> None:
    response = await client.post("/v1/users", json={**SIGN_UP, **change})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["status"] == 422
    assert pointer in [error.get("pointer") for error in problem["errors"]]
    assert await db.scalar(select(func.count()).select_from(User)) == 0


async def test_me_returns_the_callers_profile_with_an_etag(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user(display_name="Ann")
    response = await client.get("/v1/me", headers=ann.headers("profile"))
    assert response.status_code == 200
    assert response.json()["id"] == str(ann.id)
    etag = response.headers["etag"]
    cached = await client.get("/v1/me", headers={**ann.headers("profile"), "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""


async def test_me_needs_a_token_with_the_profile_scope(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    anonymous = await client.get("/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    narrow = await client.get("/v1/me", headers=ann.headers("couple:read"))
    assert narrow.status_code == 403
    assert 'error="insufficient_scope"' in narrow.headers["www-authenticate"]
    assert 'scope="profile"' in narrow.headers["www-authenticate"]
    assert narrow.json()["required_scopes"] == ["profile"]


async def test_me_costs_one_query(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: object
) -> None:
    ann = await make_user()
    headers = ann.headers("profile")
    with count_queries() as counter:  # type: ignore[operator]
        response = await client.get("/v1/me", headers=headers)
    assert response.status_code == 200
    assert counter.count == 1, counter.statements


async def test_update_profile_with_if_match(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    ann = await make_user(display_name="Ann")
    headers = ann.headers("profile")
    etag = (await client.get("/v1/me", headers=headers)).headers["etag"]
    updated = await client.patch(
        "/v1/me",
        json={"display_name": " Annie ", "timezone": "Asia/Tokyo"},
        headers={**headers, "If-Match": etag},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["display_name"] == "Annie"
    assert updated.json()["timezone"] == "Asia/Tokyo"
    assert updated.headers["etag"] != etag
    stale = await client.patch(
        "/v1/me", json={"display_name": "Old"}, headers={**headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert (await client.get("/v1/me", headers=headers)).json()["display_name"] == "Annie"


async def test_profile_update_costs_an_update_and_its_event(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: object, is_postgres: bool
) -> None:
    ann = await make_user(display_name="Ann")
    headers = ann.headers("profile")
    with count_queries() as blind:  # type: ignore[operator]
        changed = await client.patch("/v1/me", json={"display_name": "Annie"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["display_name"] == "Annie"
    if is_postgres:  # one statement: the UPDATE and the event's INSERT in its CTEs
        [statement] = blind.statements
        assert statement.startswith("WITH changed AS") and "INSERT INTO events" in statement
    else:
        assert [s.split()[0].upper() for s in blind.statements] == ["UPDATE", "INSERT"]
        assert "events" in blind.statements[1]
    etag = changed.headers["etag"]
    with count_queries() as checked:  # type: ignore[operator]
        again = await client.patch(
            "/v1/me", json={"locale": "fr"}, headers={**headers, "If-Match": etag}
        )
    assert again.status_code == 200 and again.json()["locale"] == "fr"
    # The row is read (and locked) to check If-Match, then changed, then the event.
    assert [s.split()[0].upper() for s in checked.statements] == ["SELECT", "UPDATE", "INSERT"]
    with count_queries() as idle:  # type: ignore[operator]
        same = await client.patch("/v1/me", json={}, headers=headers)
    assert same.status_code == 200 and same.json() == again.json()
    assert [s.split()[0].upper() for s in idle.statements] == ["SELECT"]  # and no event


async def test_a_profile_change_records_its_event_and_a_missing_account_records_none(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann = await make_user(display_name="Ann")
    changed = await client.patch(
        "/v1/me", json={"timezone": "Asia/Tokyo"}, headers=ann.headers("profile")
    )
    assert changed.status_code == 200, changed.text
    updates = select(Event).where(Event.user_id == ann.id, Event.type == "user.updated")
    [event] = (await db.scalars(updates)).all()
    user = await db.get_one(User, ann.user.id)
    assert (event.couple_id, event.data) == (None, {})
    assert abs(event.occurred_at - user.updated_at) < timedelta(seconds=5)
    assert event.xid is not None
    assert user.timezone == "Asia/Tokyo"
    await db.commit()  # ends the read, so that the DELETE below can take SQLite's write lock

    gone = await make_user()
    await db.execute(delete(User).where(User.id == gone.user.id))
    await db.commit()
    missing = await client.patch("/v1/me", json={"locale": "fr"}, headers=gone.headers("profile"))
    assert missing.status_code == 404, missing.text
    written = select(func.count()).where(
        Event.user_id == gone.user.id, Event.type == "user.updated"
    )
    assert await db.scalar(written) == 0


async def test_profile_update_rejects_unknown_fields(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    response = await client.patch("/v1/me", json={"role": "admin"}, headers=ann.headers("profile"))
    assert response.status_code == 422
    assert (await client.get("/v1/me", headers=ann.headers("profile"))).json()["role"] == "member"


async def test_password_change_checks_the_current_password(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    headers = ann.headers("profile")
    wrong = await client.post(
        "/v1/me/password",
        json={"current_password": "not the one", "new_password": "a brand new passphrase"},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["type"] == "/problems/wrong-password"
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": ann.password, "new_password": "a brand new passphrase"},
        headers=headers,
    )
    assert changed.status_code == 204


async def test_wrong_current_passwords_are_limited_per_person(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    """A stolen access token must not be a way to guess the password: five wrong ones in
    the window, then 429 even for the right one; another person is not affected."""
    ann, bo = await make_user(), await make_user()
    allowed = app.state.settings.login_max_failures

    async def change(person: Person, current: str) -> httpx.Response:
        body = {"current_password": current, "new_password": "a brand new passphrase"}
        return await client.post("/v1/me/password", json=body, headers=person.headers("profile"))

    for _ in range(allowed):
        assert (await change(ann, "a wrong guess of it")).status_code == 422
    refused = await change(ann, ann.password)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    assert (await change(bo, bo.password)).status_code == 204
    # The same budget guards deleting the account: no fresh five guesses there.
    deleting = await client.request(
        "DELETE", "/v1/me", json={"password": "another guess"}, headers=ann.headers("profile")
    )
    assert deleting.status_code == 429


def test_production_settings_refuse_insecure_defaults() -> None:
    from pydantic import ValidationError

    from app.config import Environment, Settings

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment=Environment.production, _env_file=None)
    with pytest.raises(ValidationError, match="https"):
        Settings(
            environment=Environment.production,
            secret_key="a" * 32,
            public_url="http://api.example.org",
            _env_file=None,
        )
    ok = Settings(
        environment=Environment.production,
        secret_key="a" * 32,
        public_url="https://api.example.org/",
        encryption_keys="k1:" + "QUFB" * 10 + "QUE=",
        _env_file=None,
    )
    assert ok.public_url == "https://api.example.org"
