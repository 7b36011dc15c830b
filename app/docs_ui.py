"""The interactive API docs at `/docs`: Swagger UI served from its PyPI package (no CDN, so
they work offline), with the Authorize button wired to the docs' own PKCE client in
development (`app.services.clients.ensure_docs_client`)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from app.config import Environment, Settings
from app.core.security import MEMBER_SCOPES
from app.services.clients import DOCS_CLIENT_ID, DOCS_REDIRECT_PATH

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def docs_oauth(settings: Settings) -> dict[str, object] | None:
    """Swagger UI's OAuth settings: the docs client with PKCE, in development only."""
    if settings.environment is not Environment.development:
        return None
    return {
        "clientId": DOCS_CLIENT_ID,
        "usePkceWithAuthorizationCodeGrant": True,
        "scopes": " ".join(sorted(scope.value for scope in MEMBER_SCOPES)),
    }


def install_docs(app: FastAPI, settings: Settings) -> None:
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    init_oauth = docs_oauth(settings)

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: interactive docs",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=DOCS_REDIRECT_PATH,
            init_oauth=init_oauth,
            swagger_ui_parameters={"persistAuthorization": False},
        )

    @app.get(DOCS_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
