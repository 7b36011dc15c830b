"""Apple and Google as configured in settings, and the calls made to their token endpoints.

A provider is enabled only when fully configured: Google needs its client id and secret,
Apple its Services ID, team id, key id and `.p8` key (Apple has no static client secret: the
secret is a short-lived ES256 JWT signed with that key). Unconfigured providers are absent,
so their buttons are hidden and their id tokens refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from starlette.datastructures import State

from app.auth.oidc import OidcProvider, ProviderUnavailable
from app.config import Settings

APPLE = "apple"
GOOGLE = "google"
LABELS = {APPLE: "Apple", GOOGLE: "Google"}
APPLE_SECRET_SECONDS = 300


class ProviderError(Exception):
    """The provider refused the authorization code, or answered something unusable."""


@dataclass
class ConfiguredProvider:
    oidc: OidcProvider
    label: str
    scope: str
    form_post: bool
    """Apple returns to the callback with a POST when the name or email is asked for."""
    secret: str | None = None
    apple_key: ECKey | None = None
    apple_team_id: str | None = None
    apple_key_id: str | None = None

    @property
    def name(self) -> str:
        return self.oidc.name

    def client_secret(self) -> str:
        if self.apple_key is None:
            assert self.secret is not None
            return self.secret
        now = int(time.time())
        claims = {
            "iss": self.apple_team_id,
            "iat": now,
            "exp": now + APPLE_SECRET_SECONDS,
            "aud": self.oidc.issuer,
            "sub": self.oidc.client_id,
        }
        header = {"alg": "ES256", "kid": self.apple_key_id}
        return jwt.encode(header, claims, self.apple_key)

    async def redeem_code(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The id token the provider's token endpoint gives for an authorization code."""
        endpoint = (await self.oidc.metadata())["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": self.oidc.client_id,
            "client_secret": self.client_secret(),
        }
        try:
            async with self.oidc.client() as http:
                response = await http.post(
                    endpoint, data=form, headers={"Accept": "application/json"}
                )
            body: Any = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{self.name}: the token endpoint failed") from error
        if response.status_code != 200 or not isinstance(body, dict):
            raise ProviderError(f"{self.name} refused the sign-in ({response.status_code}).")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderError(f"{self.name} returned no id token.")
        return id_token


@dataclass
class Federation:
    """The enabled providers of one settings object (rebuilt when settings are replaced)."""

    settings: Settings
    providers: dict[str, ConfiguredProvider] = field(default_factory=dict)

    def by_issuer(self, issuer: object) -> ConfiguredProvider | None:
        for provider in self.providers.values():
            if issuer in provider.oidc.accepted_issuers:
                return provider
        return None


def _oidc(
    settings: Settings, name: str, issuer: str, client_id: str, native: list[str]
) -> OidcProvider:
    issuer = issuer.rstrip("/")
    accepted = {issuer}
    if name == GOOGLE and issuer == "https://accounts.google.com":
        accepted.add("accounts.google.com")  # Google signs with either form
    return OidcProvider(
        name=name,
        issuer=issuer,
        client_id=client_id,
        audiences=frozenset({client_id, *native}),
        accepted_issuers=frozenset(accepted),
        leeway=settings.oidc_leeway_seconds,
        jwks_max_age=settings.oidc_jwks_max_age_seconds,
        jwks_min_refresh=settings.oidc_jwks_min_refresh_seconds,
    )


def _apple_key(settings: Settings) -> ECKey | None:
    pem: str | None = None
    if settings.apple_private_key is not None:
        pem = settings.apple_private_key.get_secret_value()
    elif settings.apple_private_key_file is not None:
        pem = settings.apple_private_key_file.read_text(encoding="utf-8")
    if not pem:
        return None
    try:
        return ECKey.import_key(pem)
    except (JoseError, ValueError) as error:
        raise ValueError("RAPPORT_APPLE_PRIVATE_KEY is not an EC private key") from error


def any_enabled(settings: Settings) -> bool:
    """Whether Apple or Google is configured (cheaply: the key is not parsed)."""
    google = settings.google_client_id and settings.google_client_secret is not None
    apple_key = settings.apple_private_key is not None or settings.apple_private_key_file
    apple = settings.apple_client_id and settings.apple_team_id and settings.apple_key_id
    return bool(google or (apple and apple_key))


def build_federation(settings: Settings) -> Federation:
    federation = Federation(settings)
    if settings.google_client_id and settings.google_client_secret is not None:
        federation.providers[GOOGLE] = ConfiguredProvider(
            oidc=_oidc(
                settings,
                GOOGLE,
                settings.google_issuer,
                settings.google_client_id,
                settings.google_native_audiences,
            ),
            label=LABELS[GOOGLE],
            scope="openid email profile",
            form_post=False,
            secret=settings.google_client_secret.get_secret_value(),
        )
    apple_key = _apple_key(settings)
    if settings.apple_client_id and settings.apple_team_id and settings.apple_key_id and apple_key:
        federation.providers[APPLE] = ConfiguredProvider(
            oidc=_oidc(
                settings,
                APPLE,
                settings.apple_issuer,
                settings.apple_client_id,
                settings.apple_native_audiences,
            ),
            label=LABELS[APPLE],
            scope="name email",
            form_post=True,
            apple_key=apple_key,
            apple_team_id=settings.apple_team_id,
            apple_key_id=settings.apple_key_id,
        )
    return federation


def federation_of(state: State) -> Federation:
    """The app's providers, built on first use and again whenever its settings change."""
    current: Federation | None = getattr(state, "federation", None)
    if current is None or current.settings is not state.settings:
        current = build_federation(state.settings)
        state.federation = current
    return current
