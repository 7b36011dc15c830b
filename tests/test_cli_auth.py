"""`rapport login` and `rapport dev-token`, run as a developer runs them, against `rapport
serve` in a process of its own."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import sys
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.api_processes import RAPPORT, api_process
from tests.conftest import MakeUser, Person
from tests.oauth.flow import consent, query_of, sign_in

pytestmark = pytest.mark.slow
_URL = re.compile(r"^\s+(http://\S+/oauth/authorize\?\S+)$", re.MULTILINE)


# What a production configuration needs beside its URL, so that only dev-token refuses it.
PRODUCTION = {
    "RAPPORT_SECRET_KEY": "a production secret of enough length",
    "RAPPORT_ENCRYPTION_KEYS": "k1:" + base64.b64encode(bytes(range(32))).decode(),
}


def _environment(settings: Settings, base_url: str, environment: str = "test") -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_DATABASE_URL": settings.database_url,
        "RAPPORT_PUBLIC_URL": base_url,
        "RAPPORT_ENVIRONMENT": environment,
        "RAPPORT_LOG_LEVEL": "WARNING",
        **(PRODUCTION if environment == "production" else {}),
    }


async def _read_authorize_url(stderr: asyncio.StreamReader) -> str:
    seen = ""
    while not (match := _URL.search(seen)):
        line = await asyncio.wait_for(stderr.readline(), 60)
        assert line, f"rapport login printed no sign-in URL: {seen!r}"
        seen += line.decode()
    return match.group(1)


async def _act_as_the_browser(base_url: str, url: str, person: Person) -> None:
    """Sign in, allow, and follow the redirect to the command's loopback listener."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as browser:
        page = await browser.get(url)
        assert page.status_code == 303, page.text
        signed_in = await sign_in(
            browser, person.user.email, person.password, query_of(page.headers["location"])["next"]
        )
        assert signed_in.status_code == 303, signed_in.text
        asked = await browser.get(signed_in.headers["location"])
        assert asked.status_code == 200, "a loopback redirect always asks the person"
        allowed = await consent(browser, asked.text)
        assert allowed.status_code == 302, allowed.text
        callback = allowed.headers["location"]
        assert callback.startswith("http://127.0.0.1:") and "code=" in callback
        landed = await browser.get(callback)
        assert landed.status_code == 200 and "Signed in" in landed.text


async def test_login_signs_in_with_pkce_on_a_loopback_redirect_and_the_token_works(
    test_settings: Settings, make_user: MakeUser, tmp_path: Path, first_party_client: object
) -> None:
    person = await make_user()
    output = tmp_path / "tokens.json"
    async with api_process(test_settings, own_public_url=True) as api:
        base_url = str(api.http.base_url).rstrip("/")
        command = await asyncio.create_subprocess_exec(
            RAPPORT,
            *("login", "--no-browser", "--scope", "profile", "--timeout", "60"),
            *("--output", str(output)),
            env=_environment(test_settings, base_url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert command.stderr is not None
        url = await _read_authorize_url(command.stderr)
        assert "code_challenge_method=S256" in url and "client_id=rapport-mobile" in url
        await _act_as_the_browser(base_url, url, person)
        assert await asyncio.wait_for(command.wait(), 60) == 0
        tokens = json.loads(output.read_text())
        if sys.platform != "win32":
            assert output.stat().st_mode & 0o777 == 0o600
        me = await api.http.get(
            "/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert me.status_code == 200, me.text
    assert me.json()["email"] == person.user.email
    assert tokens["refresh_token"] and tokens["scope"] == "profile"


async def _run(settings: Settings, base_url: str, environment: str, *args: str) -> tuple[int, str]:
    command = await asyncio.create_subprocess_exec(
        RAPPORT,
        *args,
        env=_environment(settings, base_url, environment),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(command.communicate(), 120)
    assert command.returncode is not None
    return command.returncode, (out or err).decode().strip()


async def test_dev_token_mints_a_token_the_server_accepts_with_only_the_scopes_asked(
    test_settings: Settings, make_user: MakeUser
) -> None:
    person = await make_user()
    async with api_process(test_settings, own_public_url=True) as api:
        base_url = str(api.http.base_url).rstrip("/")
        status, token = await _run(
            test_settings,
            base_url,
            "test",
            "dev-token",
            "--email",
            person.user.email,
            "--scope",
            "profile",
        )
        assert status == 0, token
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await api.http.get("/v1/me", headers=bearer)).status_code == 200
        refused = await api.http.get("/v1/journal", headers=bearer)
    assert refused.status_code == 403  # journal:read was not asked for


async def test_dev_token_is_refused_in_production_and_for_unknown_people_or_scopes(
    test_settings: Settings, make_user: MakeUser
) -> None:
    person = await make_user()
    base = "https://api.example"
    status, said = await _run(
        test_settings, base, "production", "dev-token", "--email", person.user.email
    )
    assert status == 2 and "development or test" in said
    status, said = await _run(test_settings, base, "test", "dev-token", "--email", "no@one.example")
    assert status == 2 and "no account" in said
    status, said = await _run(
        test_settings, base, "test", "dev-token", "--email", person.user.email, "--scope", "root"
    )
    assert status == 2 and "unknown scope" in said
