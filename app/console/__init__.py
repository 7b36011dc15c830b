"""The curator console: server-rendered pages under `/console` over the curation services."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles


def install(app: FastAPI) -> None:
    """Add the console's pages and its stylesheet to the app."""
    from app.console import prompts, records, routes
    from app.console.web import PREFIX, STATIC

    # The stylesheet first: `/console/{section}/{id}` would take its path otherwise.
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(records.router)
    app.include_router(prompts.router)
    app.include_router(routes.router)
