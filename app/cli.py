"""The `rapport` command: serve, worker, migrate, seed, openapi, check-content, create-user,
create-client, and (in `app.cli_auth`) login and dev-token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli_auth import register as register_auth_commands
from app.config import get_settings
from app.core.problems import ProblemError
from app.db import create_engine, create_sessionmaker

cli = typer.Typer(
    help="Rapport: an open API for apps that help couples grow emotional intimacy.",
    no_args_is_help=True,
)
T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction, on a database migrated to the latest schema."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url)

    async def run() -> T:
        engine = create_engine(get_settings().database_url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except ProblemError as error:
        typer.echo(
            json.dumps({"error": error.title, "detail": error.detail, **error.extra}), err=True
        )
        raise typer.Exit(2) from None


def _migrate_and_seed(seed: bool) -> None:
    from app.migrate import upgrade
    from app.services.seed import seed as run_seed

    if seed:
        _in_transaction(run_seed)
    else:
        upgrade(get_settings().database_url)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Apply migrations, load starter content on first start, and serve the API."""
    import uvicorn

    settings = get_settings()
    _migrate_and_seed(settings.seed_on_start)
    typer.echo(
        f"Rapport API on http://{host}:{port} — interactive docs at http://{host}:{port}/docs",
        err=True,
    )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
    )


@cli.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}", err=True)


@cli.command()
def seed() -> None:
    """Load starter content (idempotent: curators' edits are never overwritten)."""
    from app.services.seed import seed as run_seed

    counts = _in_transaction(run_seed)
    typer.echo(json.dumps(counts))


@cli.command("erase-due")
def erase_due() -> None:
    """Erase the accounts whose deletion grace period is over (for a scheduled job)."""
    from app.models.base import utcnow
    from app.services.erasure import erase_due_accounts

    erased = _in_transaction(lambda session: erase_due_accounts(session, utcnow()))
    typer.echo(json.dumps({"erased": erased}))


@cli.command()
def openapi(
    check: Annotated[
        bool, typer.Option("--check", help="Fail when the committed schema differs.")
    ] = False,
) -> None:
    """Write openapi/openapi.json from the app, or check that it is current."""
    from app.main import create_app
    from app.openapi import SCHEMA_PATH, render, write_schema

    schema = create_app().openapi()
    if check:
        committed = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if committed != render(schema):
            typer.echo(f"{SCHEMA_PATH} is out of date: run `rapport openapi`", err=True)
            raise typer.Exit(1)
        typer.echo("openapi.json is current", err=True)
        return
    write_schema(schema)
    typer.echo(f"wrote {SCHEMA_PATH}", err=True)


@cli.command("check-content")
def check_content(
    content_dir: Annotated[
        Path | None, typer.Argument(help="A content directory (default: app/content).")
    ] = None,
) -> None:
    """Check the starter content: the app's own validation first, then the collection's
    editorial rules (coverage, balance, wording); exits 1 when any rule is broken."""
    from app.content.checks import main as run_checks

    code = run_checks([] if content_dir is None else [str(content_dir)])
    if code:
        raise typer.Exit(code)


@cli.command()
def worker(
    poll_interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between polls when idle.")
    ] = 1.0,
    lease_seconds: Annotated[
        float, typer.Option(min=1, help="How long a claimed delivery stays leased.")
    ] = 60.0,
    batch_size: Annotated[int, typer.Option(min=1, help="Deliveries claimed at once.")] = 100,
    jobs: Annotated[
        bool, typer.Option(help="Also run the scheduled jobs (PostgreSQL; see app/jobs).")
    ] = True,
) -> None:
    """Deliver webhooks (fan out events, claim due deliveries, sign, send and retry) and run
    the scheduled jobs (retention sweeps).

    Run as many as needed side by side on PostgreSQL: each scheduled job runs once per tick
    whatever their number. Stops gracefully on SIGTERM. On SQLite `rapport serve` runs the
    scheduled jobs itself.
    """
    from app.core.live_broker import LiveBroker
    from app.delivery.worker import run_worker
    from app.jobs.context import JobContext
    from app.jobs.runner import start_jobs
    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    run_jobs = jobs and not settings.is_sqlite

    async def run() -> None:
        engine = create_engine(settings.database_url)
        # The jobs append events too: announce them to the API processes' live streams.
        wakes = LiveBroker(settings.live_broker, database_url=str(engine.url), listen=False)
        await wakes.start()
        scheduled = (
            await start_jobs(JobContext(create_sessionmaker(engine), settings))
            if run_jobs
            else None
        )
        # Nothing awaits between this line and the webhook worker installing its SIGTERM
        # handler: once it is printed, SIGTERM stops the worker gracefully.
        typer.echo(
            "Rapport worker started: webhooks" + (" and scheduled jobs" if run_jobs else ""),
            err=True,
        )
        try:
            await run_worker(
                settings,
                poll_interval=poll_interval,
                lease_seconds=lease_seconds,
                batch_size=batch_size,
            )
        finally:
            if scheduled is not None:
                await scheduled.stop()
            await wakes.stop()
            await engine.dispose()

    asyncio.run(run())


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Email address.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="At least 10 characters.")
    ],
    role: Annotated[str, typer.Option(help="member, curator or admin.")] = "member",
    display_name: Annotated[str | None, typer.Option(help="Name shown to the partner.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
) -> None:
    """Create an account (curators and admins are created this way)."""
    from pydantic import ValidationError

    from app.core.passwords import Passwords
    from app.models.users import Role
    from app.schemas.users import UserCreate, UserOut
    from app.services.users import create_user as create

    try:
        data = UserCreate(
            email=email,
            password=password,
            display_name=display_name or email.split("@")[0],
            timezone=timezone,
        )
        chosen_role = Role(role)
    except (ValidationError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None

    async def work(session: AsyncSession) -> str:
        passwords = Passwords.from_settings(get_settings())
        user = await create(session, data, passwords=passwords, role=chosen_role)
        return UserOut.model_validate(user).model_dump_json()

    typer.echo(_in_transaction(work))


@cli.command("create-client")
def create_client(
    name: Annotated[str, typer.Option(help="Shown to people on the consent page.")],
    redirect_uri: Annotated[list[str] | None, typer.Option(help="Repeat for several.")] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="Allowed scope; repeat for several.")
    ] = None,
    confidential: Annotated[
        bool, typer.Option("--confidential", help="A server-side client with a secret.")
    ] = False,
) -> None:
    """Register an OAuth client; prints its id and (once) its secret as JSON."""
    from app.services.clients import register_client

    async def work(session: AsyncSession) -> dict[str, object]:
        registered = await register_client(
            session,
            name=name,
            redirect_uris=list(redirect_uri or []),
            scopes=[s for item in scope or [] for s in item.split()],
            confidential=confidential,
        )
        return {
            "client_id": registered.client.client_id,
            "client_secret": registered.secret,
            "redirect_uris": registered.client.redirect_uris,
            "scopes": registered.client.allowed_scopes,
            "confidential": registered.client.is_confidential,
        }

    typer.echo(json.dumps(_in_transaction(work)))


@cli.command("rotate-keys")
def rotate_keys(
    batch_size: Annotated[int, typer.Option(min=1, help="Data keys per transaction.")] = 500,
) -> None:
    """Re-wrap every data key under the active (first) key of RAPPORT_ENCRYPTION_KEYS.

    Run it after putting a new key first; once it reports 0 left, the old key can go.
    """
    from app.core import crypto
    from app.core.encryption_orm import data_key_counts, rewrap_data_keys

    settings = get_settings()

    async def work(session: AsyncSession) -> dict[str, object]:
        rewrapped = await rewrap_data_keys(session, batch_size=batch_size)
        return {
            "active_key": crypto.key_provider(settings.database_url).active_key_id,
            "rewrapped": rewrapped,
            "data_keys_by_key": await data_key_counts(session),
        }

    typer.echo(json.dumps(_in_transaction(work)))


register_auth_commands(cli)


def main() -> None:
    cli(prog_name="rapport")


if __name__ == "__main__":
    main()
