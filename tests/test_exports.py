"""Personal data exports over HTTP: asking, states, the download, its expiry, and who must
never see an export (partner, stranger, third-party app, platform, erased account)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.base import utcnow
from app.models.exports import Export, ExportState
from app.schemas.exports_archive import ExportArchive
from app.services.clients import register_client
from app.services.erasure import erase_account
from app.services.exports_cipher import ArchiveCorrupt
from tests.conftest import Clock, MakeUser, Person
from tests.exports_support import ALL, EXPORTS, h, run_job, start, sweep
from tests.factories import pair


@pytest.fixture
async def third_party(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as session, session.begin():
        registered = await register_client(
            session,
            name="Closer Together",
            redirect_uris=["https://closer.example/callback"],
            scopes=list(ALL),
            confidential=True,
        )
    return registered.client.client_id


async def _ready(app: FastAPI, client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    export = await start(client, person)
    assert await run_job(app) == 1
    shown = (await client.get(f"{EXPORTS}/{export['id']}", headers=h(person))).json()
    assert shown["state"] == "ready"
    return shown  # type: ignore[no-any-return]


async def test_an_export_is_queued_built_and_downloaded(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user(display_name="Ann")
    export = await start(client, ann)
    assert export["state"] == "pending"
    assert export["links"] == {"self": f"{EXPORTS}/{export['id']}", "archive": None}
    assert export["size"] is None and export["ready_at"] is None
    early = await client.get(f"{EXPORTS}/{export['id']}/archive", headers=h(ann))
    assert early.status_code == 409 and early.json()["type"] == "/problems/export-not-ready"
    # While it is pending, asking again answers the same export.
    again = await client.post(EXPORTS, headers=h(ann))
    assert again.status_code == 202 and again.json()["id"] == export["id"]

    assert await run_job(app) == 1
    shown = await client.get(f"{EXPORTS}/{export['id']}", headers=h(ann))
    body = shown.json()
    assert body["state"] == "ready" and body["size"] > 0 and body["expires_at"]
    assert "etag" in shown.headers
    download = await client.get(body["links"]["archive"], headers=h(ann))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/json"
    assert download.headers["cache-control"] == "no-store"
    assert "attachment" in download.headers["content-disposition"]
    assert int(download.headers["content-length"]) == body["size"] == len(download.content)
    archive = ExportArchive.model_validate_json(download.content)
    assert archive.profile.display_name == "Ann" and archive.export_id == uuid.UUID(export["id"])

    # Once it is ready, a new one may start; the list shows both, newest first.
    second = await start(client, ann)
    assert second["id"] != export["id"]
    listed = (await client.get(EXPORTS, params={"limit": 1}, headers=h(ann))).json()
    assert [e["id"] for e in listed["data"]] == [second["id"]] and listed["has_more"]
    rest = await client.get(EXPORTS, params={"cursor": listed["next_cursor"]}, headers=h(ann))
    assert [e["id"] for e in rest.json()["data"]] == [export["id"]]


async def test_the_download_expires_and_the_sweep_removes_row_and_file(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    clock: Clock,
    db: AsyncSession,
) -> None:
    ann = await make_user()
    clock.set(utcnow())
    await sweep(app)  # files other tests left behind: their rows are gone
    export = await _ready(app, client, ann)
    directory = app.state.settings.export_directory
    files = [p for p in directory.iterdir() if p.name.startswith(export["id"])]
    assert len(files) == 1 and files[0].suffix == ".rpx"
    assert b"format" not in files[0].read_bytes()  # encrypted on disk
    clock.advance(timedelta(seconds=app.state.settings.export_ttl_seconds - 1))
    assert await sweep(app) == 0
    assert (await client.get(export["links"]["archive"], headers=h(ann))).status_code == 200
    clock.advance(timedelta(seconds=1))
    gone = await client.get(export["links"]["archive"], headers=h(ann))
    assert gone.status_code == 410 and gone.json()["type"] == "/problems/export-expired"
    shown = await client.get(f"{EXPORTS}/{export['id']}", headers=h(ann))
    assert shown.json()["state"] == "expired" and shown.json()["links"]["archive"] is None
    assert await sweep(app) == 2  # the row, then its file
    assert not files[0].exists()
    assert await db.scalar(select(Export.id)) is None
    after = await client.get(export["links"]["archive"], headers=h(ann))
    assert after.status_code == 404


async def test_who_must_not_see_or_start_an_export(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    third_party: str,
) -> None:
    ann, bo, cy = await make_user(), await make_user(), await make_user()
    await pair(client, ann, bo)
    export = await _ready(app, client, ann)
    paths = [f"{EXPORTS}/{export['id']}", export["links"]["archive"]]
    for stranger in (bo, cy):  # the partner and a stranger: it does not exist for them
        for path in paths:
            response = await client.get(path, headers=h(stranger))
            assert response.status_code == 404, path
            assert response.json()["type"] == "/problems/export-not-found"
        assert (await client.get(EXPORTS, headers=h(stranger))).json()["data"] == []
    # A third-party app, even holding every scope the person has: 403, for every operation.
    app_headers = h(ann, client_id=third_party)
    for response in (
        await client.post(EXPORTS, headers=app_headers),
        await client.get(EXPORTS, headers=app_headers),
        *[await client.get(path, headers=app_headers) for path in paths],
    ):
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "/problems/first-party-only"
    # A platform's client-credentials token acts for nobody.
    platform, _ = app.state.tokens.issue(
        subject=third_party, client_id=third_party, scope=" ".join(ALL)
    )
    as_platform = {"Authorization": f"Bearer {platform}"}
    for path in (EXPORTS, *paths):
        response = await client.get(path, headers=as_platform)
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/insufficient-scope"
    assert (await client.post(EXPORTS, headers=as_platform)).status_code == 403
    # No token, or a token without `profile`.
    assert (await client.get(paths[1])).status_code == 401
    no_scope = ann.headers("journal:read")
    assert (await client.get(paths[1], headers=no_scope)).status_code == 403
    assert (await client.get(paths[1], headers=h(ann))).status_code == 200
    assert (await client.get(f"{EXPORTS}/{uuid.uuid4()}", headers=h(ann))).status_code == 404
    assert (await client.get(f"{EXPORTS}/not-an-id", headers=h(ann))).status_code == 422


async def test_an_erased_account_loses_its_exports_and_their_files(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann = await make_user()
    await sweep(app)
    export = await _ready(app, client, ann)
    pending = await start(client, ann)
    assert pending["state"] == "pending"
    async with sessionmaker() as session, session.begin():
        await erase_account(session, ann.id, utcnow())
    async with sessionmaker() as session:
        assert list(await session.scalars(select(Export))) == []
    # The row (and with it the key) is gone; the sweep removes the file.
    gone = await client.get(export["links"]["archive"], headers=h(ann))
    assert gone.status_code in (401, 404)
    assert await sweep(app) == 1
    directory = app.state.settings.export_directory
    assert not [p for p in directory.iterdir() if p.name.startswith(export["id"])]
    assert await run_job(app) == 0


async def test_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    headers = {**h(ann), "Idempotency-Key": "export-1"}
    first = await client.post(EXPORTS, headers=headers)
    replay = await client.post(EXPORTS, headers=headers)
    assert first.status_code == replay.status_code == 202
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()


async def test_the_job_is_idempotent_and_retries_a_crashed_export(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    clock: Clock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann = await make_user()
    clock.set(utcnow())
    export = await start(client, ann)
    # A worker claimed it and died: it stays running until its lease is over.
    async with sessionmaker() as session, session.begin():
        row = await session.get(Export, uuid.UUID(export["id"]))
        assert row is not None
        row.state, row.attempts = ExportState.running, 1
        row.lease_until = clock.app.state.clock() + timedelta(minutes=15)
    assert await run_job(app) == 0
    clock.advance(timedelta(minutes=15))
    assert await run_job(app) == 1
    shown = (await client.get(f"{EXPORTS}/{export['id']}", headers=h(ann))).json()
    assert shown["state"] == "ready"
    assert await run_job(app) == 0  # a ready export is never built again
    assert (await client.get(shown["links"]["archive"], headers=h(ann))).status_code == 200


async def test_a_changed_archive_file_stops_the_download(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    export = await _ready(app, client, ann)
    directory = app.state.settings.export_directory
    [path] = [p for p in directory.iterdir() if p.name.startswith(export["id"])]
    content = bytearray(path.read_bytes())
    content[-1] ^= 1
    path.write_bytes(bytes(content))
    with pytest.raises(ArchiveCorrupt):
        await client.get(export["links"]["archive"], headers=h(ann))
    path.unlink()
    missing = await client.get(export["links"]["archive"], headers=h(ann))
    assert missing.status_code == 410
