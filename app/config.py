"""Settings: one class, read from RAPPORT_* environment variables and an optional .env file."""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SupportResource(BaseModel):
    """A place to find professional support, offered when insights suggest it."""

    title: str
    url: HttpUrl
    description: str | None = None


# The longest access-token lifetime any setting allows: revocations are kept this long.
MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAPPORT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # a malformed key must not reach the logs
    )

    environment: Environment = Environment.development
    database_url: str = "sqlite+aiosqlite:///./rapport.db"
    database_echo: bool = False
    database_pool_size: int = Field(default=30, ge=1, le=500)
    """PostgreSQL connections each API process opens (on demand) and keeps. A busy process
    has about as many requests waiting on the database as it has in flight; no request holds
    two at once. Every process's pool and overflow together must stay under the server's
    `max_connections` (100 by default: two API processes at 30 leave room for the workers)."""
    database_max_overflow: int = Field(default=0, ge=0, le=500)
    """Connections opened beyond the pool when it is exhausted, closed again when returned.
    None by default: under load one was opened and closed per request, which cost more CPU
    than the request itself and long waits to the requests queued behind it."""
    public_url: str = "http://127.0.0.1:8000"
    """The issuer, and the base of every URL the authorization server metadata publishes."""

    secret_key: str = Field(default="dev-only-insecure-secret-change-me", min_length=16)
    """Signs sign-in sessions and CSRF tokens of the server-rendered OAuth pages."""

    encryption_keys: SecretStr | None = None
    """Key-encryption keys for the data keys that seal free text: `id:base64key,...`, each
    key 32 random bytes, the first one active (new and re-wrapped data keys); the others still
    unwrap until `rapport rotate-keys` has re-wrapped everything. Required in production;
    elsewhere a generated key is kept in a file beside the SQLite database."""

    signing_key: str | None = None
    """A private JWK (JSON) or PEM key for access tokens; generated and stored when unset."""

    access_token_ttl_seconds: int = Field(default=900, ge=60, le=MAX_ACCESS_TOKEN_TTL_SECONDS)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=3600)
    authorization_code_ttl_seconds: int = Field(default=120, ge=10, le=600)
    signing_key_rotation_days: int = Field(default=30, ge=1)

    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    """argon2id cost; the defaults follow RFC 9106's second recommendation."""

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    signup_max_per_ip: int = Field(default=10, ge=1)
    signup_ip_window_seconds: int = Field(default=3600, ge=1)
    signup_max_global: int = Field(default=120, ge=1)
    signup_global_window_seconds: int = Field(default=60, ge=1)
    """Sign-ups are limited per IP address and for the whole server: each one runs argon2,
    which is slow on purpose."""
    redis_url: str | None = None
    """When set, rate limits are shared through Redis across processes."""
    rate_limit_per_token: str | None = "600/minute"  # noqa: S105 (a quota, not a secret)
    rate_limit_per_ip: str | None = "1200/minute"
    """General limits on every operation (app/core/rate_limits.py), in the `limits` notation
    ("600/minute", "10/second;1000/hour" takes the first); empty turns that limit off."""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Origins browsers may call the API from: comma-separated or a JSON list; none by
    default in every environment (app/core/cors.py)."""

    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    sync_retention_days: int = Field(default=90, ge=1)
    """How long a sync cursor stays usable; an older one gets 410 (resync from scratch)."""
    live_broker_url: str | None = None
    """Where the live streams' wake-ups travel (`GET /v1/sync/stream`): `memory://` (this
    process only), `postgresql://…` (LISTEN/NOTIFY) or `redis://…` (pub/sub). By default the
    database's own: in memory on SQLite, LISTEN/NOTIFY on PostgreSQL."""
    live_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    """A live stream sends a heartbeat and re-reads the feed this often, wake or no wake."""
    live_streams_per_person: int = Field(default=5, ge=1, le=100)
    """Live streams one person may hold open at once, per API process; one more gets 429."""
    erasure_grace_days: int = Field(default=7, ge=0)
    """Days between a deletion request and the erasure; signing in meanwhile cancels it."""
    seed_on_start: bool = True
    support_resources: list[SupportResource] = Field(default_factory=list)
    """Links offered with `suggest_professional_support`: JSON [{title, url, description}]."""
    webhook_allow_http: bool = False
    """Deliver webhooks to plain-http URLs (development only)."""
    webhook_allowed_networks: str = ""
    """Comma-separated CIDRs webhooks may reach although not globally routable (development)."""
    run_worker_in_process: bool | None = None
    """Run the webhook dispatcher inside `rapport serve`; by default only on SQLite."""
    log_level: str = "INFO"
    log_json: bool = True
    opentelemetry: bool = False
    """FastAPI's own OpenTelemetry traces and metrics, through the globally configured
    providers (e.g. under `opentelemetry-instrument`). Off, no request looks for a provider."""
    test_idempotency_crash: Literal["before_commit", "after_commit"] | None = None
    """Tests only, refused in production: the process dies (`os._exit`) during the first
    idempotent POST that stores an outcome, before or after its transaction commits."""
    run_jobs_in_process: bool | None = None
    """Run the scheduled jobs (app/jobs) inside `rapport serve`; by default only on SQLite,
    outside the test environment. On PostgreSQL `rapport worker` runs them."""
    job_schedules: dict[str, str] = Field(default_factory=dict)
    """Cron expressions by job name, overriding the defaults of `app.jobs.registry.JOBS`:
    JSON such as {"sweep_events": "41 4 * * *"}; a sixth field counts seconds."""
    retention_batch_size: int = Field(default=500, ge=1, le=10_000)
    """Rows a retention sweep deletes per transaction."""
    event_retention_margin_hours: int = Field(default=24, ge=0)
    """Events are kept this long past `sync_retention_days`, so that no sync cursor still
    accepted points past a deleted event."""
    export_ttl_seconds: int = Field(default=86_400, ge=60)
    """How long a ready personal data export can be downloaded; then 410, and the retention
    sweep deletes it."""
    export_dir: Path | None = None
    """Where encrypted export archives are written: by default `exports/` beside the SQLite
    file (a temporary directory in tests); on PostgreSQL a directory every API process and
    worker shares (default `./exports`)."""
    apns_base_url: str = "https://api.push.apple.com"
    """APNs' HTTP/2 endpoint (`https://api.sandbox.push.apple.com` for development builds)."""
    apns_key_file: Path | None = None
    """The `.p8` token-signing key from Apple; with the key and team ids and the topic, iOS
    devices get pushes through APNs. Unset: the log sender (nothing leaves)."""
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_topic: str | None = None
    """The app's bundle id (`apns-topic`)."""
    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_project_id: str | None = None
    fcm_service_account_file: Path | None = None
    """A Google service-account JSON key with the Firebase messaging role; with the project
    id, Android devices get pushes through FCM HTTP v1. Unset: the log sender."""
    fcm_token_url: str | None = None
    """Overrides the service account's `token_uri` (Google's OAuth 2 token endpoint)."""

    # Sign in with Apple and Google (OpenID Connect; app/auth/oidc*.py, app/auth/federation*.py).
    # A provider is on only when its client id and its secret (Google) or key (Apple) are set;
    # the development default runs without either, and the sign-in page shows no button.
    google_client_id: str | None = None
    """The OAuth client id from Google Cloud: the `aud` of Google id tokens."""
    google_client_secret: SecretStr | None = None
    google_issuer: str = "https://accounts.google.com"
    """Discovery starts at `{issuer}/.well-known/openid-configuration` (tests use a local one)."""
    google_native_audiences: list[str] = Field(default_factory=list)
    """More client ids (the iOS/Android ones) whose id tokens `/oauth/token` exchanges: JSON."""
    apple_client_id: str | None = None
    """The Services ID (web) registered with Apple: the `aud` of Apple id tokens."""
    apple_team_id: str | None = None
    apple_key_id: str | None = None
    apple_private_key: SecretStr | None = None
    """The `.p8` Sign in with Apple key (PEM), which signs the client secret JWT Apple asks for."""
    apple_private_key_file: Path | None = None
    """Instead of `apple_private_key`: a file holding it."""
    apple_issuer: str = "https://appleid.apple.com"
    apple_native_audiences: list[str] = Field(default_factory=list)
    """The app bundle ids whose id tokens (native Sign in with Apple) are exchanged: JSON."""
    oidc_leeway_seconds: int = Field(default=60, ge=0, le=300)
    """Clock skew allowed on id tokens' `exp` and `iat`."""
    oidc_jwks_max_age_seconds: int = Field(default=3600, ge=60)
    oidc_jwks_min_refresh_seconds: int = Field(default=60, ge=1)
    """An unknown `kid` fetches a provider's keys again, at most this often."""
    smtp_host: str | None = None
    """Outbound email (app/email): the SMTP server's host. Unset: mails are written to the
    log instead (the development default), and nothing leaves the machine."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS before sending (and before logging in)."""
    smtp_from: str = "Rapport <no-reply@localhost>"
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    password_reset_ttl_seconds: int = Field(default=30 * 60, ge=60, le=86_400)
    email_verification_ttl_seconds: int = Field(default=24 * 3600, ge=600, le=7 * 86_400)
    account_email_max_per_window: int = Field(default=3, ge=1)
    """Reset and verification mails asked for one address within `login_window_seconds`;
    the requesting IP address is held to `login_max_failures` requests in that window."""

    @field_validator("encryption_keys")
    @classmethod
    def _parse_encryption_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from app.core.crypto import parse_keys

            parse_keys(value.get_secret_value())  # a malformed list fails at start, not later
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip().rstrip("/") for part in text.split(",") if part.strip()]
        return value

    @field_validator("rate_limit_per_token", "rate_limit_per_ip")
    @classmethod
    def _parse_rate_limit(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from limits import parse_many

        parse_many(value)  # a malformed quota fails at start, not on the first request
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.environment is Environment.production:
            if self.secret_key.startswith("dev-only"):
                raise ValueError("RAPPORT_SECRET_KEY must be set outside development")
            if not self.public_url.startswith("https://"):
                raise ValueError("RAPPORT_PUBLIC_URL must be https in production")
            if self.test_idempotency_crash is not None:
                raise ValueError("RAPPORT_TEST_IDEMPOTENCY_CRASH is for tests only")
            if self.encryption_keys is None:
                raise ValueError("RAPPORT_ENCRYPTION_KEYS must be set in production")
            for issuer in (self.google_issuer, self.apple_issuer):
                if not issuer.startswith("https://"):
                    raise ValueError("identity provider issuers must be https in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def database_pool_options(self) -> dict[str, int]:
        """The pool's size for `create_engine` (SQLite keeps SQLAlchemy's own pool)."""
        if self.is_sqlite:
            return {}
        return {"pool_size": self.database_pool_size, "max_overflow": self.database_max_overflow}

    @property
    def live_broker(self) -> str:
        """`live_broker_url`, or the database's own broker."""
        if self.live_broker_url:
            return self.live_broker_url
        if self.is_sqlite:
            return "memory://"
        return (
            make_url(self.database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )

    @property
    def worker_in_process(self) -> bool:
        if self.run_worker_in_process is None:
            return self.is_sqlite
        return self.run_worker_in_process

    @property
    def export_directory(self) -> Path:
        if self.export_dir is not None:
            return self.export_dir
        if self.is_sqlite:
            database = make_url(self.database_url).database
            if database and database != ":memory:":
                return Path(database).resolve().parent / "exports"
        if self.environment is Environment.test:
            return Path(tempfile.gettempdir()) / f"rapport-test-exports-{os.getpid()}"
        return Path("exports").resolve()

    @property
    def jobs_in_process(self) -> bool:
        if self.run_jobs_in_process is None:
            return self.is_sqlite and self.environment is not Environment.test
        return self.run_jobs_in_process


@lru_cache
def get_settings() -> Settings:
    return Settings()
