"""Discovery: RFC 8414 metadata, the JWKS, and how the endpoints appear in the schema."""

from __future__ import annotations

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from app.core.security import Scope
from tests.conftest import PUBLIC_URL

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


async def test_metadata_describes_this_server(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    metadata = response.json()
    assert metadata["issuer"] == PUBLIC_URL
    assert metadata["authorization_endpoint"] == f"{PUBLIC_URL}/oauth/authorize"
    assert metadata["token_endpoint"] == f"{PUBLIC_URL}/oauth/token"
    assert metadata["revocation_endpoint"] == f"{PUBLIC_URL}/oauth/revoke"
    assert metadata["introspection_endpoint"] == f"{PUBLIC_URL}/oauth/introspect"
    assert metadata["jwks_uri"] == f"{PUBLIC_URL}/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["scopes_supported"] == [scope.value for scope in Scope]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]
    assert "none" in metadata["revocation_endpoint_auth_methods_supported"]
    # authlib's own RFC 8414 validator (its https rule waived for the http test issuer).
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    AuthorizationServerMetadata(metadata).validate()


async def test_the_jwks_publishes_public_keys_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kid"] and key["use"] == "sig" and key["alg"] in ("ES256", "RS256")
        assert not PRIVATE_JWK_MEMBERS & set(key)


async def test_the_oauth_endpoints_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    expected = {
        ("/oauth/token", "post"): "oauth_token",
        ("/oauth/revoke", "post"): "oauth_revoke",
        ("/oauth/introspect", "post"): "oauth_introspect",
        ("/.well-known/oauth-authorization-server", "get"): "oauth_metadata",
        ("/.well-known/jwks.json", "get"): "oauth_jwks",
    }
    for (path, method), operation_id in expected.items():
        operation = paths[path][method]
        assert operation["operationId"] == operation_id
        assert operation["tags"] == ["oauth"]
        assert operation["summary"]
        assert "200" in operation["responses"]
    token = paths["/oauth/token"]["post"]
    form = token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form == {"$ref": "#/components/schemas/TokenRequest"}  # a named form body
    body = (await client.get("/openapi.json")).json()["components"]["schemas"]["TokenRequest"]
    assert {"grant_type", "code", "code_verifier", "refresh_token"} <= set(body["properties"])
    assert token["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/OAuthError"
    )
