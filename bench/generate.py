"""Fill a PostgreSQL database with `--events` events (10 million by default) and the rows
behind them, a hundred events per couple (100,000 couples at the default scale):

    python bench/generate.py --events 10000 --database rapport_flat_10k
    python bench/generate.py --events 10000000 --database rapport_flat_10m --jobs 2

Each couple (two people, their memberships, UTC) gets:

- `couple.created` and `couple.joined` (2 events);
- 20 past days of daily prompts (the starter libraries' live versions, in turn), each with
  both partners' answers and revealed: `answer.submitted` twice and `answer.revealed` once a
  day (60 events);
- 50 check-ins, alternating partners, one a day: the last 38 shared with the partner
  (`checkin.shared`, 38 events), the 12 older ones private (no event);
- 10 journal entries, alternating partners (private writing: no event).

Everything is written by `INSERT … SELECT` over `generate_series` and `gen_random_uuid()`
inside PostgreSQL, `--batch` couples per transaction (so each batch's events share one
transaction id, as events written together do), on `--jobs` connections at once. No row
crosses the network, which is what makes 10 million events a matter of minutes.

The free text. The app encrypts it at rest (`app/core/encryption_orm.py`): an envelope under
the author's data key, bound to the row's id, which SQL cannot produce. Rows are written with
plaintext text, which the ORM reads back as it is (a value that is no envelope is never
opened; `bench/bench_couples.py` does the same); then the text of the first `--sealed`
couples — those `bench/flat.py` reads — is sealed in Python with the app's own code (a data
key per person, wrapped by the database's key provider, the `rapport serve` default in test
and development: the key file named after the database), so measured reads pay for the
decryption as they would in production. ANALYZE runs at the end.

The database is created when missing; with `--replace` an existing one is dropped first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVENTS_PER_COUPLE = 100
DAYS = 20
CHECKINS, SHARED = 50, 38
JOURNAL = 10
DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# $1 first couple number, $2 end (exclusive), $3 today, $4 prompt ids, $5 version ids.
# Only this module's constants are formatted into it.
BATCH_SQL = f"""
CREATE TEMP TABLE g ON COMMIT DROP AS
  SELECT n, gen_random_uuid() AS c, gen_random_uuid() AS a, gen_random_uuid() AS b
  FROM generate_series($1::int, $2::int - 1) AS n;
INSERT INTO users (id, email, email_normalized, password_hash, display_name, timezone, locale,
                   role, created_at, updated_at)
  SELECT u, 'gen' || n || p || '@example.org', 'gen' || n || p || '@example.org',
         'x', 'Partner ' || p, 'UTC', 'en', 'member', since, since
  FROM g, LATERAL (VALUES (a, 'a'), (b, 'b')) AS v(u, p),
       LATERAL (SELECT ($3::date - {CHECKINS + 1})::timestamptz AS since) AS s;
INSERT INTO couples (id, status, created_by, timezone, locale, enabled_libraries, max_depth,
                     created_at, updated_at)
  SELECT c, 'active', a, 'UTC', 'en', '[]', 3, s.at, s.at
  FROM g, LATERAL (SELECT ($3::date - {CHECKINS + 1})::timestamptz AS at) AS s;
INSERT INTO couple_members (id, couple_id, user_id, active_user_id, joined_at)
  SELECT gen_random_uuid(), c, u, u, ($3::date - {CHECKINS + 1})::timestamptz
  FROM g, LATERAL (VALUES (a), (b)) AS v(u);
INSERT INTO events (id, type, occurred_at, user_id, couple_id, data)
  SELECT gen_random_uuid(), t, ($3::date - {CHECKINS + 1})::timestamptz, u, c, '{{}}'
  FROM g, LATERAL (VALUES ('couple.created', a), ('couple.joined', b)) AS v(t, u);
CREATE TEMP TABLE d ON COMMIT DROP AS
  SELECT g.c, g.a, g.b, k, $3::date - ({DAYS} - k) AS local_date,
         gen_random_uuid() AS day_id, gen_random_uuid() AS answer_a, gen_random_uuid() AS answer_b,
         ($4::uuid[])[1 + (n + k) % cardinality($4::uuid[])] AS prompt_id,
         ($5::uuid[])[1 + (n + k) % cardinality($5::uuid[])] AS version_id
  FROM g, generate_series(0, {DAYS - 1}) AS k;
INSERT INTO daily_prompts (id, couple_id, local_date, prompt_id, prompt_version_id, cycle,
                           assigned_at, revealed_at)
  SELECT day_id, c, local_date, prompt_id, version_id, 1,
         local_date + time '08:00', local_date + time '20:00'
  FROM d;
INSERT INTO answers (id, daily_prompt_id, couple_id, user_id, prompt_version_id, text,
                     revealed_at, created_at, updated_at)
  SELECT answer, day_id, c, u, version_id,
         'An answer of a few honest sentences about the day, and what it meant to me.',
         local_date + time '20:00', local_date + h, local_date + h
  FROM d, LATERAL (VALUES (answer_a, a, interval '9 hours'), (answer_b, b, interval '19 hours'))
          AS v(answer, u, h);
INSERT INTO events (id, type, occurred_at, user_id, couple_id, data)
  SELECT gen_random_uuid(), t, local_date + h, u, c, data
  FROM d, LATERAL (VALUES
    ('answer.submitted', a, interval '9 hours',
     json_build_object('daily_prompt_id', day_id, 'answer_id', answer_a)),
    ('answer.submitted', b, interval '19 hours',
     json_build_object('daily_prompt_id', day_id, 'answer_id', answer_b)),
    ('answer.revealed', b, interval '20 hours', json_build_object('daily_prompt_id', day_id))
  ) AS v(t, u, h, data);
CREATE TEMP TABLE ci ON COMMIT DROP AS
  SELECT gen_random_uuid() AS id, CASE WHEN k % 2 = 0 THEN a ELSE b END AS u, c, k,
         $3::date - ({CHECKINS} - k) AS local_date, k >= {CHECKINS - SHARED} AS shared
  FROM g, generate_series(0, {CHECKINS - 1}) AS k;
INSERT INTO checkins (id, user_id, couple_id, mood, emotions, needs, note, request, visibility,
                      local_date, shared_at, created_at, updated_at)
  SELECT id, u, c, 1 + k % 5, '["mad.frustrated"]', '["connection.being_heard"]',
         'A long day, and some good moments in it.',
         CASE WHEN k % 3 = 0 THEN 'A walk together tonight?' END,
         CASE WHEN shared THEN 'partner' ELSE 'private' END, local_date,
         CASE WHEN shared THEN local_date + time '18:00' END,
         local_date + time '18:00', local_date + time '18:00'
  FROM ci;
INSERT INTO events (id, type, occurred_at, user_id, couple_id, data)
  SELECT gen_random_uuid(), 'checkin.shared', local_date + time '18:00', u, c,
         json_build_object('checkin_id', id)
  FROM ci WHERE shared;
INSERT INTO journal_entries (id, user_id, body, pattern_tags, emotions, local_date, created_at,
                             updated_at)
  SELECT gen_random_uuid(), CASE WHEN k % 2 = 0 THEN a ELSE b END,
         'Something I noticed today, written for myself alone.', '[]', '[]',
         $3::date - ({JOURNAL * 3} - 3 * k), $3::date - ({JOURNAL * 3} - 3 * k) + time '22:00',
         $3::date - ({JOURNAL * 3} - 3 * k) + time '22:00'
  FROM g, generate_series(0, {JOURNAL - 1}) AS k;
"""  # noqa: S608

# The text columns to seal, per table: (column, owner column).
SEALED_COLUMNS = {
    "checkins": (("note", "user_id"), ("request", "user_id")),
    "answers": (("text", "user_id"),),
    "journal_entries": (("body", "user_id"),),
}


def urls(admin: str, database: str) -> tuple[str, str]:
    """The database's asyncpg DSN and its SQLAlchemy URL."""
    dsn = make_url(admin).set(database=database)
    return (
        dsn.render_as_string(hide_password=False),
        dsn.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False),
    )


async def prepare(admin: str, database: str, url: str, replace: bool) -> None:
    """Create (or recreate) the database, migrate it, seed the starter libraries."""
    from app.db import create_engine, create_sessionmaker
    from app.migrate import upgrade_async
    from app.services.seed import seed

    connection = await asyncpg.connect(admin)
    try:
        if replace:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await seed(session)
    finally:
        await engine.dispose()


async def fill(dsn: str, couples: int, batch: int, jobs: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        if await connection.fetchval("SELECT count(*) FROM couples") > 0:
            raise SystemExit("the database already holds couples: use --replace")
        rows = await connection.fetch(
            "SELECT v.prompt_id, v.id FROM prompt_versions v"
            " JOIN prompt_libraries l ON l.id = v.library_id"
            " WHERE v.is_live AND NOT l.opt_in ORDER BY v.id"
        )
    finally:
        await connection.close()
    prompts, versions = [r[0] for r in rows], [r[1] for r in rows]
    if not prompts:
        raise SystemExit("the starter libraries hold no live prompt")
    today = datetime.now(UTC).date()
    starts = iter(range(0, couples, batch))
    done = 0
    began = time.perf_counter()

    async def job() -> None:
        nonlocal done
        connection = await asyncpg.connect(dsn)
        try:
            for start in starts:
                end = min(start + batch, couples)
                async with connection.transaction():
                    await _run_batch(connection, start, end, today, prompts, versions)
                done += end - start
                rate = done * EVENTS_PER_COUPLE / (time.perf_counter() - began)
                print(
                    f"  {done:,} couples, {done * EVENTS_PER_COUPLE:,} events "
                    f"({rate:,.0f} events/s)",
                    flush=True,
                )
        finally:
            await connection.close()

    await asyncio.gather(*(job() for _ in range(jobs)))


async def _run_batch(
    connection: Any, start: int, end: int, today: date, prompts: list[Any], versions: list[Any]
) -> None:
    # One statement at a time (asyncpg binds parameters per statement): split on `;`.
    for statement in filter(str.strip, BATCH_SQL.split(";")):
        used = sorted({int(p) for p in _placeholders(statement)})
        values = {1: start, 2: end, 3: today, 4: prompts, 5: versions}
        renumbered = statement
        for new, old in enumerate(used, start=1):
            renumbered = renumbered.replace(f"${old}", f"$__{new}")
        await connection.execute(renumbered.replace("$__", "$"), *(values[i] for i in used))


def _placeholders(statement: str) -> list[str]:
    return [statement[i + 1] for i, ch in enumerate(statement) if ch == "$"]


async def seal(dsn: str, url: str, couples: int) -> int:
    """Seal the text of the first `couples` couples with each author's own data key."""
    from app.config import Environment, Settings
    from app.core import crypto

    settings = Settings(environment=Environment.test, database_url=url, _env_file=None)
    provider = crypto.provider_from_settings(settings)
    connection = await asyncpg.connect(dsn)
    sealed = 0
    try:
        emails = [f"gen{n}{p}@example.org" for n in range(couples) for p in "ab"]
        people = [
            r[0]
            for r in await connection.fetch("SELECT id FROM users WHERE email = ANY($1)", emails)
        ]
        async with connection.transaction():
            for owner in people:
                data_key = secrets.token_bytes(crypto.KEY_BYTES)
                kek_id, wrapped = provider.wrap(data_key, owner)
                await connection.execute(
                    "INSERT INTO data_keys (user_id, kek_id, wrapped_key, created_at)"
                    " VALUES ($1, $2, $3, now())",
                    owner,
                    kek_id,
                    wrapped,
                )
                for table, columns in SEALED_COLUMNS.items():
                    for column, owner_column in columns:
                        rows = await connection.fetch(
                            f"SELECT id, {column} FROM {table}"  # noqa: S608 - fixed names
                            f" WHERE {owner_column} = $1 AND {column} IS NOT NULL",
                            owner,
                        )
                        changes = [
                            (
                                row_id,
                                crypto.seal(
                                    data_key,
                                    owner,
                                    text,
                                    crypto.associated_data(table, column, row_id),
                                ),
                            )
                            for row_id, text in rows
                        ]
                        await connection.executemany(
                            f"UPDATE {table} SET {column} = $2 WHERE id = $1",  # noqa: S608
                            changes,
                        )
                        sealed += len(changes)
    finally:
        await connection.close()
    return sealed


async def run(args: argparse.Namespace) -> None:
    dsn, url = urls(args.postgres, args.database)
    couples = max(1, args.events // EVENTS_PER_COUPLE)
    began = time.perf_counter()
    await prepare(args.postgres, args.database, url, args.replace)
    print(
        f"{args.database}: {couples:,} couples, {couples * EVENTS_PER_COUPLE:,} events", flush=True
    )
    await fill(dsn, couples, args.batch, args.jobs)
    filled = time.perf_counter()
    sealed = await seal(dsn, url, min(args.sealed, couples))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("ANALYZE")
        counts = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
            for table in ("events", "checkins", "answers", "daily_prompts", "journal_entries")
        }
        size = await connection.fetchval(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        )
    finally:
        await connection.close()
    print(
        f"filled in {filled - began:.0f} s; {sealed:,} values sealed; total "
        f"{time.perf_counter() - began:.0f} s; {size}; {counts}"
    )
    print(f"url: {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--database", default="rapport_flat")
    parser.add_argument("--batch", type=int, default=1000, help="couples per transaction")
    parser.add_argument("--jobs", type=int, default=1, help="connections writing at once")
    parser.add_argument("--sealed", type=int, default=50, help="couples whose text is sealed")
    parser.add_argument("--replace", action="store_true", help="drop the database first")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN))
    args = parser.parse_args()
    if not EVENTS_PER_COUPLE <= args.events <= 20_000_000 or not 1 <= args.jobs <= 4:
        parser.error("keep it bounded: --events in [100, 20M], --jobs in [1, 4]")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
