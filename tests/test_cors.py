"""CORS: an allow-list from settings, for the API and the token endpoints only."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.conftest import MakeUser
from tests.derived_app import client_for

ALLOWED = "https://app.example"


def cors_app(app: FastAPI, origins: str) -> FastAPI:
    settings = app.state.settings.model_copy(
        update={"cors_origins": Settings.model_validate({"cors_origins": origins}).cors_origins}
    )
    made = create_app(settings)
    made.state._state.update({k: v for k, v in app.state._state.items() if k != "settings"})
    return made


async def test_an_allowed_origin_reads_the_api(app: FastAPI, make_user: MakeUser) -> None:
    ana = await make_user()
    made = cors_app(app, f"{ALLOWED}, https://other.example")
    async with client_for(made) as http:
        response = await http.get("/v1/me", headers={"Origin": ALLOWED, **ana.headers("profile")})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = response.headers["access-control-expose-headers"].lower()
    for name in ("etag", "x-request-id", "ratelimit", "ratelimit-policy", "retry-after"):
        assert name in exposed
    assert "access-control-allow-credentials" not in response.headers


async def test_a_disallowed_origin_gets_no_cors_headers(app: FastAPI) -> None:
    made = cors_app(app, ALLOWED)
    async with client_for(made) as http:
        response = await http.get("/v1/prompts", headers={"Origin": "https://evil.example"})
        preflight = await http.options(
            "/v1/prompts",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "GET",
            },
        )
    assert "access-control-allow-origin" not in response.headers
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


async def test_no_origin_is_allowed_by_default(app: FastAPI) -> None:
    assert app.state.settings.cors_origins == []
    async with client_for(app) as http:
        response = await http.get("/v1/prompts", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers


async def test_preflight_for_a_conditional_patch(app: FastAPI) -> None:
    made = cors_app(app, f'["{ALLOWED}"]')
    async with client_for(made) as http:
        response = await http.options(
            "/v1/me",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, if-match, content-type",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "if-match" in allowed and "authorization" in allowed
    assert int(response.headers["access-control-max-age"]) > 0


async def test_token_endpoints_answer_preflight(app: FastAPI) -> None:
    made = cors_app(app, ALLOWED)
    async with client_for(made) as http:
        for path in ("/oauth/token", "/oauth/revoke"):
            response = await http.options(
                path,
                headers={
                    "Origin": ALLOWED,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert response.status_code == 200, path
            assert response.headers["access-control-allow-origin"] == ALLOWED


async def test_sign_in_and_consent_pages_never_get_cors(app: FastAPI) -> None:
    made = cors_app(app, ALLOWED)
    async with client_for(made) as http:
        for path in ("/oauth/sign-in", "/oauth/authorize", "/oauth/logout"):
            page = await http.get(path, headers={"Origin": ALLOWED})
            assert "access-control-allow-origin" not in page.headers, path
            preflight = await http.options(
                path, headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
            )
            assert "access-control-allow-origin" not in preflight.headers, path
            assert preflight.status_code != 200, path


async def test_a_browser_can_read_why_it_was_limited(app: FastAPI) -> None:
    settings = app.state.settings.model_copy(
        update={"cors_origins": [ALLOWED], "rate_limit_per_ip": "1/minute"}
    )
    made = create_app(settings)
    kept = {"settings", "general_rate_limits"}
    made.state._state.update({k: v for k, v in app.state._state.items() if k not in kept})
    async with client_for(made) as http:
        await http.get("/v1/prompts", headers={"Origin": ALLOWED})
        refused = await http.get("/v1/prompts", headers={"Origin": ALLOWED})
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()


async def test_without_origin_the_answer_is_starlettes_own() -> None:
    """With no Origin header the middleware skips Starlette's engine but answers as it does:
    the app's headers, and `Vary: Origin` merged into the first `Vary` (or added)."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.types import Message, Receive, Scope, Send

    from app.core.cors import ScopedCORSMiddleware

    def app_with(headers: list[tuple[bytes, bytes]]) -> Any:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
            await send({"type": "http.response.body", "body": b"{}"})

        return app

    async def answer(middleware: Any) -> list[Message]:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": "/v1/me", "headers": []}
        await middleware(scope, receive, send)
        return sent

    for headers in (
        [(b"content-type", b"application/json")],
        [(b"vary", b"Accept-Encoding"), (b"etag", b'"1"'), (b"vary", b"Authorization")],
    ):
        ours = ScopedCORSMiddleware(app_with(headers), origins=[ALLOWED])
        theirs = CORSMiddleware(app_with(headers), allow_origins=[ALLOWED])
        assert await answer(ours) == await answer(theirs)
