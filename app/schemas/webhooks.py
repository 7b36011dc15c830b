"""Webhook endpoints, their deliveries and attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.webhooks import DeliveryStatus, WebhookEndpoint
from app.schemas.common import UtcDateTime


class EndpointCreate(BaseModel):
    url: str = Field(
        min_length=8, max_length=2000, description="An `https` URL on the public internet."
    )
    event_types: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Event types to receive (see `GET /v1/event-types`); empty: all of them.",
    )
    enabled: bool = True
    description: str | None = Field(default=None, max_length=500)


class EndpointUpdate(BaseModel):
    url: str | None = Field(default=None, min_length=8, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=100)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=500)


class EndpointOut(BaseModel):
    """A webhook endpoint. Its signing secret is shown only when created or rotated."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    enabled: bool
    description: str | None
    disabled_reason: str | None = Field(
        description="Why deliveries stopped: `gone` (410) or `failing` (5 days without success)."
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="`whsec_` + base64: verifies the `webhook-signature` header; shown once."
    )

    @classmethod
    def with_secret(cls, endpoint: WebhookEndpoint, secret: str) -> Self:
        return cls(**EndpointOut.model_validate(endpoint).model_dump(), secret=secret)


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret; shown once.")
    previous_secret_expires_at: UtcDateTime = Field(
        description="Until then deliveries carry signatures by both the old and the new secret."
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The `webhook-id` header of every attempt.")
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: UtcDateTime | None
    last_status_code: int | None
    last_attempt_at: UtcDateTime | None
    created_at: UtcDateTime

    @model_validator(mode="after")
    def _next_attempt_only_while_pending(self) -> Self:
        if self.status is not DeliveryStatus.pending:
            self.next_attempt_at = None
        return self


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    started_at: UtcDateTime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None = Field(description="The first 2 kB of the response body.")


class ReplayRequest(BaseModel):
    since: datetime = Field(description="Re-queue every failed delivery created since then.")


class ReplayOut(BaseModel):
    requeued: int
