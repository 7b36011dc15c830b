"""Webhook endpoints of partner platforms: registration, secrets, tests, deliveries, replay.

An endpoint belongs to one OAuth client; every query is filtered to the caller's client, so
another client's endpoint and a missing one are the same `None` (answered 404). Only the
client's own token (client credentials) manages them: a token acting for a person is refused.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.event_catalog import EVENT_TYPES
from app.core.events import append_event
from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import FieldError, Forbidden, NotFound, UnprocessableContent
from app.core.security import Actor
from app.delivery import ssrf
from app.delivery.signing import new_secret
from app.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.schemas.webhooks import EndpointCreate, EndpointUpdate

ROTATION_OVERLAP = timedelta(hours=24)


class ClientTokenRequired(Forbidden):
    slug = "client-token-required"
    title = "A partner platform's own token is required"


class EndpointNotFound(NotFound):
    slug = "webhook-endpoint-not-found"
    title = "No webhook endpoint has this id"


class DeliveryNotFound(NotFound):
    slug = "webhook-delivery-not-found"
    title = "No webhook delivery has this id"


def _check_url(url: str, settings: Settings) -> None:
    problem = ssrf.check_url(url, allow_http=settings.webhook_allow_http)
    if problem is None:
        literal = ssrf.literal_address(urlsplit(url).hostname or "")
        allowed = ssrf.parse_networks(settings.webhook_allowed_networks)
        if literal is not None and not ssrf.is_allowed(literal, allowed):
            problem = "must reach a public address"
    if problem:
        raise UnprocessableContent(
            f"The URL {problem}.", errors=[FieldError(pointer="#/url", detail=problem)]
        )


def _check_event_types(event_types: list[str]) -> list[str]:
    errors = [
        FieldError(pointer=f"#/event_types/{i}", detail=f"{name!r} is not an event type")
        for i, name in enumerate(event_types)
        if name not in EVENT_TYPES
    ]
    if errors:
        raise UnprocessableContent(
            "Subscribe to event types from GET /v1/event-types.", errors=errors
        )
    return list(dict.fromkeys(event_types))


def partner_client(actor: Actor) -> str:
    """The partner platform acting for itself; a token acting for a person gets 403."""
    if actor.user_id is not None:
        raise ClientTokenRequired(
            "Webhook endpoints belong to a partner platform: use a client-credentials token."
        )
    return actor.client_id


def _owned(actor: Actor) -> Select[WebhookEndpoint]:
    return select(WebhookEndpoint).where(WebhookEndpoint.client_id == partner_client(actor))


async def create_endpoint(
    session: AsyncSession, actor: Actor, data: EndpointCreate, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    client_id = partner_client(actor)
    _check_url(data.url, settings)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        client_id=client_id,
        url=data.url,
        event_types=_check_event_types(data.event_types),
        enabled=data.enabled,
        description=data.description,
        secret=secret,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def list_endpoints(
    session: AsyncSession, actor: Actor, params: PageQuery
) -> Window[WebhookEndpoint]:
    return await paginate(
        session,
        _owned(actor),
        order=(WebhookEndpoint.created_at, WebhookEndpoint.id),
        params=params,
    )


async def get_endpoint(
    session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await session.scalar(_owned(actor).where(WebhookEndpoint.id == endpoint_id))
    if endpoint is None:
        raise EndpointNotFound()
    return endpoint


async def update_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, data: EndpointUpdate, settings: Settings
) -> WebhookEndpoint:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        _check_url(changes["url"], settings)
        endpoint.url = changes["url"]
    if changes.get("event_types") is not None:
        endpoint.event_types = _check_event_types(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("enabled") is not None:
        endpoint.enabled = changes["enabled"]
        if endpoint.enabled:
            endpoint.disabled_reason = None
            endpoint.failing_since = None
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, endpoint: WebhookEndpoint, now: datetime
) -> tuple[str, datetime]:
    """A new secret; the old one keeps signing (beside it) for 24 hours."""
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = secret
    await session.flush()
    return secret, endpoint.previous_secret_expires_at


async def send_test(
    session: AsyncSession, endpoint: WebhookEndpoint, now: datetime
) -> WebhookDelivery:
    """Queue a `webhook.ping` for this endpoint alone."""
    event = await append_event(session, "webhook.ping")
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id, event_id=event.id, event_type=event.type, next_attempt_at=now
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def list_deliveries(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    params: PageQuery,
    status: DeliveryStatus | None = None,
) -> Window[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return await paginate(
        session,
        statement,
        order=(WebhookDelivery.created_at, WebhookDelivery.id),
        params=params,
        descending=True,
    )


async def get_delivery(
    session: AsyncSession, actor: Actor, delivery_id: uuid.UUID
) -> WebhookDelivery:
    client_id = partner_client(actor)
    delivery = await session.scalar(
        select(WebhookDelivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id, WebhookEndpoint.client_id == client_id)
    )
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


async def list_attempts(
    session: AsyncSession, delivery: WebhookDelivery, params: PageQuery
) -> Window[WebhookAttempt]:
    return await paginate(
        session,
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id),
        order=(WebhookAttempt.started_at, WebhookAttempt.id),
        params=params,
    )


async def redeliver(
    session: AsyncSession, delivery: WebhookDelivery, now: datetime
) -> WebhookDelivery:
    """Send again now, whatever happened before (same `webhook-id`): a new round of retries
    begins, and the attempts already made stay counted."""
    delivery.status = DeliveryStatus.pending
    delivery.round_start_attempts = delivery.attempts
    delivery.next_attempt_at = now
    delivery.locked_until = None
    delivery.lease_id = None
    await session.flush()
    return delivery


async def replay(
    session: AsyncSession, endpoint: WebhookEndpoint, since: datetime, now: datetime
) -> int:
    """Send again the failed and skipped deliveries created since `since`; how many."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status.in_((DeliveryStatus.failed, DeliveryStatus.skipped)),
            WebhookDelivery.created_at >= since,
        )
        .values(
            status=DeliveryStatus.pending,
            round_start_attempts=WebhookDelivery.attempts,
            next_attempt_at=now,
            locked_until=None,
            lease_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
