"""`rapport login` and `rapport dev-token`: a developer's first access token.

`login` is what a native app does (RFC 8252): the authorization code flow with PKCE, the code
coming back to a loopback redirect on a port of its own, through authlib's OAuth 2 client.
`dev-token` signs a token with the server's own keys, for development and tests only.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import warnings
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import typer
from authlib.common.security import generate_token

from app.config import Environment, get_settings
from app.core.security import MEMBER_SCOPES, Scope
from app.services.clients import FIRST_PARTY_CLIENT_ID

LOOPBACK = "127.0.0.1"
CALLBACK_PATH = "/oauth/callback"
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Rapport</title>"
    "<p>{message}</p><p>You can close this window and go back to the terminal.</p>"
)


with warnings.catch_warnings():
    # authlib prefers the httpx2 fork and says so on import; Rapport is built on httpx.
    # (Importing `authlib.deprecate` first: it installs an "always" filter of its own.)
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client


def _all_member_scopes() -> list[str]:
    return sorted(scope.value for scope in MEMBER_SCOPES)


def _scopes(given: list[str] | None) -> list[str]:
    """Scopes as typed (repeated or space-separated), refusing unknown ones."""
    chosen = [s for item in given or [] for s in item.split()] or _all_member_scopes()
    unknown = sorted(set(chosen) - {scope.value for scope in Scope})
    if unknown:
        typer.echo(f"unknown scope(s): {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    return chosen


@dataclass
class Callback:
    """A one-shot HTTP listener on the loopback interface that receives the redirect."""

    result: asyncio.Future[dict[str, str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readuntil(b"\r\n")).decode("latin-1")
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # headers: nothing in them matters here
            target = request_line.split(" ")[1] if request_line.count(" ") >= 2 else "/"
            parts = urlsplit(target)
            if parts.path != CALLBACK_PATH:
                await self._answer(writer, 404, "Not the sign-in callback.")
                return
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            if "error" in query:
                await self._answer(writer, 200, f"Sign-in ended: {query['error']}.")
            else:
                await self._answer(writer, 200, "Signed in.")
            if not self.result.done():
                self.result.set_result(query)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
        body = _PAGE.format(message=html.escape(message)).encode()
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    @property
    def redirect_uri(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{CALLBACK_PATH}"


async def _discover(http: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
    response = await http.get(f"{base_url}/.well-known/oauth-authorization-server")
    response.raise_for_status()
    metadata: dict[str, Any] = response.json()
    return metadata


async def run_login(
    base_url: str, client_id: str, scopes: list[str], *, open_browser: bool, wait_seconds: float
) -> dict[str, Any]:
    """Walk the flow and return the token response."""
    callback = Callback()
    server = await asyncio.start_server(callback.handle, LOOPBACK, 0)
    callback.port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient(timeout=30) as http:
        metadata = await _discover(http, base_url)
        oauth = AsyncOAuth2Client(
            client_id=client_id,
            scope=" ".join(scopes),
            redirect_uri=callback.redirect_uri,
            code_challenge_method="S256",
            timeout=30,
        )
        verifier = generate_token(64)
        url, state = oauth.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        typer.echo(f"Sign in to Rapport in your browser:\n\n  {url}\n", err=True)
        if open_browser:
            webbrowser.open(url)
        async with asyncio.timeout(wait_seconds):
            query = await callback.result
        if query.get("state") != state:
            typer.echo("the callback's state does not match: start again", err=True)
            raise typer.Exit(1)
        if "error" in query:
            typer.echo(f"sign-in refused: {query['error']}", err=True)
            raise typer.Exit(1)
        async with oauth:
            token = await oauth.fetch_token(
                metadata["token_endpoint"], code=query["code"], code_verifier=verifier
            )
    return dict(token)


def _emit(tokens: dict[str, Any], output: Path | None) -> None:
    document = json.dumps(tokens, indent=2)
    if output is None:
        typer.echo(document)
        return
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(document + "\n")
    typer.echo(f"tokens written to {output}", err=True)


def login(
    url: Annotated[
        str | None, typer.Option(help="The API's base URL (default: RAPPORT_PUBLIC_URL).")
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope to ask for; repeat (default: all).")
    ] = None,
    client_id: Annotated[str, typer.Option(help="The public client to sign in with.")] = (
        FIRST_PARTY_CLIENT_ID
    ),
    output: Annotated[
        Path | None, typer.Option(help="Write the tokens there (mode 0600), not to stdout.")
    ] = None,
    browser: Annotated[bool, typer.Option(help="Open the sign-in page in a browser.")] = True,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for sign-in.")] = 300,
) -> None:
    """Sign in through the browser (authorization code + PKCE on a loopback redirect) and
    print the tokens as JSON. Nothing is stored unless `--output` says where."""
    base_url = (url or get_settings().public_url).rstrip("/")
    try:
        tokens = asyncio.run(
            run_login(
                base_url, client_id, _scopes(scope), open_browser=browser, wait_seconds=timeout
            )
        )
    except TimeoutError:
        typer.echo("no sign-in arrived in time", err=True)
        raise typer.Exit(1) from None
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach {base_url}: {error}", err=True)
        raise typer.Exit(1) from None
    _emit(tokens, output)


async def mint_dev_token(email: str, scopes: list[str], client_id: str) -> str:
    from datetime import timedelta

    from app.core.keys import KeyRing
    from app.core.tokens import TokenService
    from app.db import create_engine, create_sessionmaker
    from app.services.users import find_user_by_email

    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            user = await find_user_by_email(session, email)
        if user is None:
            typer.echo(f"no account for {email}: create it with `rapport create-user`", err=True)
            raise typer.Exit(2)
        keys = KeyRing(access_token_ttl=timedelta(seconds=settings.access_token_ttl_seconds))
        await keys.load(sessionmaker)  # the server's own keys, so it accepts the token
        tokens = TokenService(
            keys,
            issuer=settings.public_url,
            audience=settings.public_url,
            ttl_seconds=settings.access_token_ttl_seconds,
        )
        token, _ = tokens.issue(subject=str(user.id), client_id=client_id, scope=" ".join(scopes))
        return token
    finally:
        await engine.dispose()


def dev_token(
    email: Annotated[str, typer.Option(help="The account to act as.")],
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope to grant; repeat (default: all).")
    ] = None,
    client_id: Annotated[str, typer.Option(help="The client the token is for.")] = (
        FIRST_PARTY_CLIENT_ID
    ),
) -> None:
    """Print an access token for an existing account, signed with the server's keys.
    Development and test environments only."""
    from app.migrate import upgrade

    settings = get_settings()
    if settings.environment not in (Environment.development, Environment.test):
        typer.echo("dev-token works only when RAPPORT_ENVIRONMENT is development or test", err=True)
        raise typer.Exit(2)
    upgrade(settings.database_url)
    typer.echo(asyncio.run(mint_dev_token(email, _scopes(scope), client_id)))


def register(cli: typer.Typer) -> None:
    cli.command("login")(login)
    cli.command("dev-token")(dev_token)
