"""The authorization endpoint: request validation, redirect rules, scopes, the pages."""

from __future__ import annotations

import httpx
import pytest

from app.models.users import Role
from app.services.clients import RegisteredClient
from tests.conftest import MakeUser
from tests.oauth.conftest import MEMBER
from tests.oauth.flow import (
    PRIVATE_REDIRECT,
    authorize_url,
    consent,
    csrf_of,
    exchange,
    obtain_code,
    pkce_pair,
    query_of,
    sign_in,
)


@pytest.mark.parametrize(
    ("challenge", "method", "description"),
    [
        (None, None, "PKCE is required"),
        (None, "S256", "PKCE is required"),
        ("x" * 43, "plain", "must be S256"),
        ("x" * 43, None, "must be S256"),
        ("too-short", "S256", "Invalid 'code_challenge'"),
    ],
    ids=["missing", "method-only", "plain", "no-method-means-plain", "malformed"],
)
async def test_pkce_s256_is_required(
    client: httpx.AsyncClient,
    third_party_app: RegisteredClient,
    challenge: str | None,
    method: str | None,
    description: str,
) -> None:
    url = authorize_url(third_party_app.client.client_id, challenge, method=method)
    response = await client.get(url)
    assert response.status_code == 302
    params = query_of(response.headers["location"])
    assert response.headers["location"].startswith(PRIVATE_REDIRECT)
    assert params["error"] == "invalid_request"
    assert description in params["error_description"]
    assert params["state"] == "s-123"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "app.rapport:/oauth/callback/other",
        "https://evil.example/oauth/callback",
        "http://127.0.0.1:8080/elsewhere",
        "http://localhost:8080/oauth/callback",
        "http://127.0.0.2/oauth/callback",
        "http://[::1]:8080/oauth/callback",
        "http://127.0.0.1:8080/oauth/callback#frag",
    ],
)
async def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    client: httpx.AsyncClient, third_party_app: RegisteredClient, redirect_uri: str
) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(third_party_app.client.client_id, challenge, redirect_uri=redirect_uri)
    response = await client.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "invalid_request" in response.text


async def test_an_unknown_client_gets_an_error_page(client: httpx.AsyncClient) -> None:
    _, challenge = pkce_pair()
    response = await client.get(authorize_url("nobody", challenge))
    assert response.status_code == 400
    assert "invalid_client" in response.text and "location" not in response.headers


@pytest.mark.parametrize("port", ["", ":1", ":49152", ":65535"])
async def test_loopback_redirects_may_use_any_port(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object, port: str
) -> None:
    ann = await make_user()
    for host in ("127.0.0.1", "[::1]"):
        redirect_uri = f"http://{host}{port}/oauth/callback"
        grant = await obtain_code(
            client, "rapport-mobile", ann.user.email, ann.password, redirect_uri=redirect_uri
        )
        assert grant.location.startswith(redirect_uri + "?code=")


async def test_the_token_request_must_repeat_the_exact_redirect_uri(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    grant = await obtain_code(
        client,
        "rapport-mobile",
        ann.user.email,
        ann.password,
        redirect_uri="http://127.0.0.1:5000/oauth/callback",
    )
    other_port = await exchange(
        client, grant, "rapport-mobile", redirect_uri="http://127.0.0.1:5001/oauth/callback"
    )
    assert other_port.status_code == 400 and other_port.json()["error"] == "invalid_grant"


async def test_implicit_grant_is_refused(
    client: httpx.AsyncClient, third_party_app: RegisteredClient
) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(third_party_app.client.client_id, challenge, response_type="token")
    response = await client.get(url)
    assert response.status_code == 302
    params = query_of(response.headers["location"])
    assert params["error"] == "unsupported_response_type" and params["state"] == "s-123"
    assert "access_token" not in response.headers["location"]


async def test_an_unknown_scope_is_refused(
    client: httpx.AsyncClient, third_party_app: RegisteredClient
) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(third_party_app.client.client_id, challenge, scope="profile read:all")
    response = await client.get(url)
    assert query_of(response.headers["location"])["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("role", "requested", "granted"),
    [
        (Role.member, "profile admin:content admin:users", "profile"),
        (Role.curator, "profile admin:content admin:users", "profile admin:content"),
        (Role.admin, "profile admin:content admin:users", "profile admin:content admin:users"),
        (Role.member, None, "MEMBER"),
    ],
)
async def test_granted_scopes_follow_the_client_and_the_role(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    third_party_app: RegisteredClient,
    role: Role,
    requested: str | None,
    granted: str,
) -> None:
    person = await make_user(role=role)
    grant = await obtain_code(
        client, "closer-together", person.user.email, person.password, scope=requested
    )
    tokens = (await exchange(client, grant, "closer-together")).json()
    expected = set(MEMBER) if granted == "MEMBER" else set(granted.split())
    assert set(tokens["scope"].split()) == expected


async def test_a_member_asking_only_for_admin_scopes_gets_invalid_scope(
    client: httpx.AsyncClient, make_user: MakeUser, third_party_app: RegisteredClient
) -> None:
    ann = await make_user()
    await sign_in(client, ann.user.email, ann.password)
    _, challenge = pkce_pair()
    response = await client.get(authorize_url("closer-together", challenge, scope="admin:users"))
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == "invalid_scope"


async def test_the_consent_form_needs_its_csrf_token(
    client: httpx.AsyncClient, make_user: MakeUser, third_party_app: RegisteredClient
) -> None:
    ann = await make_user()
    await sign_in(client, ann.user.email, ann.password)
    _, challenge = pkce_pair()
    page = await client.get(authorize_url("closer-together", challenge))
    forged = page.text.replace(csrf_of(page.text), "forged")
    response = await consent(client, forged)
    assert response.status_code == 400 and "location" not in response.headers
    client.cookies.delete("rapport_csrf")
    assert (await consent(client, page.text)).status_code == 400


async def test_sign_in_only_returns_to_this_servers_authorize_endpoint(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    for target in (
        "https://evil.example/oauth/authorize",
        "//evil.example/oauth/authorize",
        "/v1/me",
    ):
        page = await client.get("/oauth/sign-in", params={"next": target})
        assert 'name="next" value=""' in page.text
        response = await sign_in(client, ann.user.email, ann.password, target)
        assert response.status_code == 200 and "location" not in response.headers


async def test_the_pages_are_accessible_plain_html(client: httpx.AsyncClient) -> None:
    page = await client.get("/oauth/sign-in")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert '<label for="email">' in page.text and 'id="email"' in page.text
    assert '<label for="password">' in page.text and 'id="password"' in page.text
    assert "<script" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_the_pages_escape_what_they_echo(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    page = await client.get("/oauth/sign-in")
    response = await client.post(
        "/oauth/sign-in",
        data={"csrf_token": csrf_of(page.text), "email": '"><script>x()</script>', "password": "x"},
    )
    assert "<script>x()" not in response.text and "&lt;script&gt;" in response.text


async def test_the_pages_are_not_in_the_api_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/oauth/authorize" not in paths and "/oauth/sign-in" not in paths
    assert PRIVATE_REDIRECT not in str(paths)
