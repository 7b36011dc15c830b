"""The application factory: middleware, exception handlers, routers, lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.config import Environment, Settings, get_settings
from app.console import install as install_console
from app.core import crypto
from app.core.cors import ScopedCORSMiddleware
from app.core.handlers import install_exception_handlers
from app.core.hot_reads import HotReader
from app.core.idempotency import IdempotencyMiddleware
from app.core.input_guard import InputGuardMiddleware
from app.core.keys import KeyRing, import_private_key
from app.core.live_broker import LiveBroker, end_streams_on_exit
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.passwords import Passwords
from app.core.rate_limits import install_rate_limits
from app.core.revocation import RevocationFeed, RevocationSet
from app.core.route_index import install_route_index
from app.core.tokens import TokenService
from app.db import create_engine, create_sessionmaker
from app.delivery.worker import start_in_process_worker
from app.docs_ui import install_docs
from app.jobs.context import JobContext
from app.jobs.runner import start_jobs
from app.models.base import utcnow
from app.openapi import install_openapi
from app.routers import (
    access_log,
    account,
    activities,
    admin_clients,
    answers,
    audit,
    catalog,
    checkins,
    connected_apps,
    conversations,
    couples,
    daily,
    devices,
    event_types,
    exports,
    health,
    insights,
    journal,
    libraries,
    library_files,
    library_prompts,
    live,
    oauth,
    repair_agreements,
    repair_catalog,
    repair_plans,
    repair_steps,
    repair_templates,
    repair_trust,
    rituals,
    sync,
    users,
    vocabularies,
    webhooks,
)
from app.routers.test_clocks import install_test_clocks
from app.services.clients import ensure_docs_client
from app.services.live import StreamSlots

API_DESCRIPTION = """\
Rapport is an open API for apps that help couples grow emotional intimacy: curated prompts
answered without anchoring on each other, check-ins that name feelings and needs, a private
journal, consent-based trust-repair plans and honest insights.

All errors are RFC 9457 problem details. Lists use cursor pagination. `POST` accepts an
`Idempotency-Key`; single resources carry an `ETag` (`If-None-Match`, `If-Match`).
"""


def operation_id(route: APIRoute) -> str:
    """Operation ids are the endpoint function names: stable, readable, unique."""
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        crypto.configure_from_settings(settings)
        engine = create_engine(
            settings.database_url,
            echo=settings.database_echo,
            **settings.database_pool_options(),
        )
        app.state.engine = engine
        # Wake-ups of the live streams, published after each commit that appended events.
        live_broker = LiveBroker(settings.live_broker, database_url=str(engine.url))
        await live_broker.start()
        app.state.live_broker = live_broker
        restore_signals = end_streams_on_exit(live_broker)
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.reading_sessionmaker = create_sessionmaker(engine, reading=True)
        app.state.hot_reader = HotReader(engine)
        keys = KeyRing(access_token_ttl=timedelta(seconds=settings.access_token_ttl_seconds))
        if settings.signing_key:
            keys.use_static_key(import_private_key(settings.signing_key))
        else:
            await keys.load(
                app.state.sessionmaker,
                rotate_after=timedelta(days=settings.signing_key_rotation_days),
            )
        if settings.environment is Environment.development:
            async with app.state.sessionmaker() as session, session.begin():
                await ensure_docs_client(session, settings.public_url)
        app.state.revocations = RevocationSet()
        revocation_feed = RevocationFeed(app.state.revocations, engine)
        await revocation_feed.start()
        app.state.tokens = TokenService(
            keys,
            issuer=settings.public_url,
            audience=settings.public_url,
            ttl_seconds=settings.access_token_ttl_seconds,
            revocations=app.state.revocations,
        )
        worker = (
            start_in_process_worker(app.state.sessionmaker, settings)
            if settings.worker_in_process
            else None
        )
        app.state.webhook_worker = worker
        jobs = (
            await start_jobs(
                JobContext(app.state.sessionmaker, settings, lambda: app.state.clock())
            )
            if settings.jobs_in_process
            else None
        )
        # What is built by now lives as long as the process: kept out of the collector's
        # sight, a full collection scans what requests allocate, not the ~280,000 objects of
        # the app itself (about 80 ms each time, several times a second under load).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if jobs is not None:
                await jobs.stop()
            if worker is not None:
                await worker.stop()
            await revocation_feed.stop()
            restore_signals()
            await live_broker.stop()
            await engine.dispose()

    app = FastAPI(
        title="Rapport API",
        version="1.0.0",
        summary="An open API for apps that help couples grow emotional intimacy.",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        separate_input_output_schemas=False,
        docs_url=None,  # served by app.docs_ui, from local files
        redoc_url=None,
        # Unless asked for, FastAPI's telemetry stays off: it looks for a configured
        # OpenTelemetry provider (in the environment) on every request.
        telemetry=None
        if settings.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.passwords = Passwords.from_settings(settings)
    app.state.clock = utcnow
    app.state.live_slots = StreamSlots()
    install_exception_handlers(app)
    install_openapi(app)
    install_console(app)
    install_docs(app, settings)
    # The last added runs first: CORS, request context (with cache control), rate limits,
    # the input guard, then idempotency (a replayed response gets the first's Cache-Control).
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(InputGuardMiddleware)
    install_rate_limits(app, settings)  # inside the request context: a 429 has its id
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(ScopedCORSMiddleware, origins=settings.cors_origins)  # outermost
    app.include_router(health.router)
    app.include_router(users.router)
    app.include_router(account.router)
    app.include_router(couples.router)
    # The day's prompt and its answers interleave in the published schema: a day, answering
    # it, reflections, then the two lists.
    app.include_router(daily.router)
    app.include_router(answers.router)
    app.include_router(daily.lists)
    app.include_router(answers.lists)
    app.include_router(insights.router)
    app.include_router(catalog.router)
    app.include_router(libraries.router)
    app.include_router(library_files.router)
    app.include_router(library_prompts.router)
    app.include_router(audit.router)
    app.include_router(oauth.router)
    app.include_router(vocabularies.router)
    app.include_router(checkins.router)
    app.include_router(journal.router)
    # The catalog first, then plans and what they hold: the published paths keep this order.
    app.include_router(repair_catalog.router)
    app.include_router(repair_plans.router)
    app.include_router(repair_steps.router)
    app.include_router(repair_agreements.router)
    app.include_router(repair_trust.router)
    app.include_router(repair_templates.router)
    app.include_router(conversations.router)
    app.include_router(activities.router)
    app.include_router(rituals.router)
    app.include_router(webhooks.router)
    app.include_router(event_types.router)
    app.include_router(connected_apps.router)
    app.include_router(access_log.router)
    app.include_router(admin_clients.router)
    app.include_router(sync.router)
    app.include_router(live.router)
    app.include_router(exports.router)
    app.include_router(devices.router)
    install_test_clocks(app, settings)  # development and test only
    install_route_index(app)
    return app
