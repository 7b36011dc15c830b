"""Personal data exports (GDPR Arts. 15 and 20): ask, wait, download once, for a short while.

`start_export` queues an export (at most one pending or running per person: asking again
answers that one); the `run_exports` job builds it (`build_due_exports`): the archive is
written by `exports_archive` straight into an encrypted file (`exports_cipher`) under
`RAPPORT_EXPORT_DIR`, with a random key that only the export's row holds. The download
decrypts while it streams, for `RAPPORT_EXPORT_TTL_SECONDS` after the export is ready; then
410, and the retention sweep deletes the row (the file becomes unreadable at once) and the
file. Only Rapport's own (first-party) apps may start, see or download an export: it holds
everything a person wrote, private writing included.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, NotFound, ProblemError
from app.core.security import Member
from app.models.exports import Export, ExportState
from app.models.users import User
from app.services.clients import is_first_party
from app.services.erasure import FirstPartyOnly
from app.services.exports_archive import write_archive
from app.services.exports_cipher import SealedWriter, new_key, open_chunks

log = logging.getLogger("rapport.exports")

LEASE = timedelta(minutes=15)
"""A running export not finished by then is taken for a crashed worker's, and retried."""
MAX_ATTEMPTS = 3
IN_PROGRESS = (ExportState.pending, ExportState.running)
FINISHED = (ExportState.ready, ExportState.failed)
_FILE = re.compile(
    r"^(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.\d+\.(rpx|part)$"
)


class ExportNotFound(NotFound):
    slug = "export-not-found"
    title = "Export not found"


class ExportNotReady(Conflict):
    slug = "export-not-ready"
    title = "The export is not ready"


class ExportGone(ProblemError):
    status = 410
    slug = "export-expired"
    title = "The export has expired"


async def _require_first_party(session: AsyncSession, me: Member) -> None:
    if not await is_first_party(session, me.client_id):
        raise FirstPartyOnly(
            "A data export holds everything the person wrote, private writing included: "
            "only the Rapport app can ask for one or download it."
        )


def state_of(export: Export, now: datetime) -> ExportState:
    """The stored state, or `expired` for a finished export past its expiry."""
    if export.state in FINISHED and export.expires_at is not None and export.expires_at <= now:
        return ExportState.expired
    return export.state


async def start_export(session: AsyncSession, me: Member, now: datetime) -> Export:
    """A new pending export, or the person's export already pending or running."""
    await _require_first_party(session, me)
    existing = await _in_progress(session, me.user_id)
    if existing is not None:
        return existing
    export = Export(
        user_id=me.user_id,
        state=ExportState.pending,
        in_progress_user_id=me.user_id,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(export)
    except IntegrityError:  # a concurrent request queued one first: answer that one
        existing = await _in_progress(session, me.user_id)
        if existing is None:
            raise
        return existing
    return export


async def _in_progress(session: AsyncSession, user_id: uuid.UUID) -> Export | None:
    return await session.scalar(select(Export).where(Export.in_progress_user_id == user_id))


async def list_exports(session: AsyncSession, me: Member, params: PageQuery) -> Window[Export]:
    """The person's exports not yet swept away, newest first."""
    await _require_first_party(session, me)
    return await paginate(
        session,
        select(Export).where(Export.user_id == me.user_id),
        order=(Export.created_at, Export.id),
        params=params,
        descending=True,
    )


async def get_export(session: AsyncSession, me: Member, export_id: uuid.UUID) -> Export:
    await _require_first_party(session, me)
    export = await session.scalar(
        select(Export).where(Export.id == export_id, Export.user_id == me.user_id)
    )
    if export is None:
        raise ExportNotFound("You have no export with this id.")
    return export


@dataclass(frozen=True)
class Archive:
    export_id: uuid.UUID
    size: int
    created_at: datetime
    chunks: Iterator[bytes]
    """The decrypted JSON document, chunk by chunk (read from disk as it is iterated)."""


async def open_archive(
    session: AsyncSession, me: Member, export_id: uuid.UUID, now: datetime, directory: Path
) -> Archive:
    export = await get_export(session, me, export_id)
    state = state_of(export, now)
    if state is ExportState.expired:
        raise ExportGone("This export's download has expired; ask for a new export.")
    if state is not ExportState.ready:
        raise ExportNotReady(f"This export is {state.value}; its archive is not available.")
    assert export.key is not None and export.file_name is not None and export.size_bytes is not None
    try:
        chunks = open_chunks(directory / export.file_name, export.key, export.id)
    except FileNotFoundError:
        raise ExportGone("This export's archive is no longer available.") from None
    return Archive(export.id, export.size_bytes, export.created_at, chunks)


# --- the job ---------------------------------------------------------------------------


async def build_due_exports(
    sessionmaker: async_sessionmaker[AsyncSession],
    directory: Path,
    clock: Callable[[], datetime],
    ttl: timedelta,
    *,
    limit: int = 20,
) -> int:
    """Build pending exports (and running ones whose worker died), up to `limit`.

    Idempotent: a ready export is never claimed again; every attempt writes its own file and
    only the attempt that still holds the claim may mark the export ready."""
    built = 0
    for _ in range(limit):
        claim = await _claim_next(sessionmaker, clock(), ttl)
        if claim is None:
            break
        if await _build(sessionmaker, claim, directory, clock, ttl):
            built += 1
    return built


@dataclass(frozen=True)
class _Claim:
    export_id: uuid.UUID
    user_id: uuid.UUID
    attempt: int


def _finish(export: Export, state: ExportState, now: datetime, ttl: timedelta) -> None:
    export.state = state
    export.in_progress_user_id = None
    export.lease_until = None
    export.expires_at = now + ttl
    if state is ExportState.failed:
        export.failed_at = now


async def _claim_next(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, ttl: timedelta
) -> _Claim | None:
    while True:
        async with sessionmaker() as session, session.begin():
            export = await session.scalar(
                select(Export)
                .where(
                    or_(
                        Export.state == ExportState.pending,
                        and_(Export.state == ExportState.running, Export.lease_until <= now),
                    )
                )
                .order_by(Export.created_at, Export.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if export is None:
                return None
            user = await session.get(User, export.user_id)
            if export.attempts >= MAX_ATTEMPTS or user is None or user.deactivated_at is not None:
                _finish(export, ExportState.failed, now, ttl)
                continue
            export.state = ExportState.running
            export.started_at = now
            export.lease_until = now + LEASE
            export.attempts += 1
            return _Claim(export.id, export.user_id, export.attempts)


async def _build(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: _Claim,
    directory: Path,
    clock: Callable[[], datetime],
    ttl: timedelta,
) -> bool:
    _make_directory(directory)
    key = new_key()
    partial = directory / f"{claim.export_id}.{claim.attempt}.part"
    final = directory / f"{claim.export_id}.{claim.attempt}.rpx"
    writer = SealedWriter(partial, key, claim.export_id)
    try:
        async with sessionmaker() as session:
            await write_archive(session, writer, claim.user_id, claim.export_id, clock())
        writer.close()
        partial.replace(final)
    except Exception:
        log.exception("export %s failed (attempt %d)", claim.export_id, claim.attempt)
        writer.abort()
        partial.unlink(missing_ok=True)
        await _give_back(sessionmaker, claim, clock(), ttl)
        return False
    async with sessionmaker() as session, session.begin():
        export = await session.get(Export, claim.export_id, with_for_update=True)
        if (
            export is None
            or export.state is not ExportState.running
            or export.attempts != claim.attempt
        ):
            final.unlink(missing_ok=True)  # erased meanwhile, or another worker took it over
            return False
        now = clock()
        _finish(export, ExportState.ready, now, ttl)
        export.ready_at = now
        export.key = key
        export.file_name = final.name
        export.size_bytes = writer.plaintext_size
    return True


async def _give_back(
    sessionmaker: async_sessionmaker[AsyncSession], claim: _Claim, now: datetime, ttl: timedelta
) -> None:
    """After a failed attempt: pending again for the next run, or failed after the last."""
    async with sessionmaker() as session, session.begin():
        export = await session.get(Export, claim.export_id, with_for_update=True)
        if export is None or export.attempts != claim.attempt:
            return
        if export.attempts >= MAX_ATTEMPTS:
            _finish(export, ExportState.failed, now, ttl)
        else:
            export.state = ExportState.pending
            export.lease_until = None


async def remove_unreadable_files(
    sessionmaker: async_sessionmaker[AsyncSession], directory: Path
) -> int:
    """Delete archive files no export row can read any more (its row was swept or erased,
    or it is a superseded attempt's); files of exports still being built stay."""
    found = _archive_files(directory)
    removed = 0
    ids = list(found)
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Export.id, Export.state, Export.file_name).where(Export.id.in_(batch))
                )
            ).all()
        kept = {row.id: (row.file_name, row.state in IN_PROGRESS) for row in rows}
        for export_id in batch:
            file_name, building = kept.get(export_id, (None, False))
            for path in found[export_id]:
                if export_id in kept and (building or path.name == file_name):
                    continue
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _make_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)


def _archive_files(directory: Path) -> dict[uuid.UUID, list[Path]]:
    found: dict[uuid.UUID, list[Path]] = {}
    if directory.is_dir():
        for path in directory.iterdir():
            match = _FILE.match(path.name)
            if match:
                try:
                    export_id = uuid.UUID(match["id"])
                except ValueError:
                    continue
                found.setdefault(export_id, []).append(path)
    return found
