"""Webhooks: a partner platform's endpoints, their signing secrets, deliveries and replays.

Only a partner's own client token (client credentials with `webhooks:manage`) manages its
endpoints; a token acting for a person is refused, and another client's endpoint is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.clock import Now
from app.core.etag import check_if_match, resource_response
from app.core.pagination import InvalidCursor, Page, PageParams
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.webhooks import DeliveryStatus
from app.schemas.webhooks import (
    AttemptOut,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    ReplayOut,
    ReplayRequest,
    SecretRotated,
)
from app.services import webhooks as service

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
AUTH_ERRORS = (Unauthorized, InsufficientScope, service.ClientTokenRequired)
# A client acting for itself: the service refuses a token acting for a person.
Manager = Annotated[Actor, require(Scope.webhooks_manage)]
NO_STORE = {"Cache-Control": "no-store"}


@router.post(
    "/endpoints",
    summary="Register a webhook endpoint",
    status_code=201,
    response_model=EndpointCreated,
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def webhooks_endpoints_create(
    request: Request, data: EndpointCreate, actor: Manager, session: SessionDep
) -> Response:
    """Subscribe a URL to event types. The response carries the signing secret, shown once:
    verify every delivery's `webhook-signature` with it (Standard Webhooks)."""
    endpoint, secret = await service.create_endpoint(
        session, actor, data, request.app.state.settings
    )
    body = EndpointCreated.with_secret(endpoint, secret)
    return resource_response(
        request,
        body,
        status_code=201,
        headers={"Location": f"/v1/webhooks/endpoints/{endpoint.id}", **NO_STORE},
    )


@router.get(
    "/endpoints",
    summary="List webhook endpoints",
    description=(
        "The webhook endpoints the calling client registered, a page at a time. Signing "
        "secrets are never listed."
    ),
    response_model=Page[EndpointOut],
    responses=responses_for(*AUTH_ERRORS, InvalidCursor),
)
async def webhooks_endpoints_list(
    actor: Manager, session: SessionDep, params: PageParams
) -> Page[EndpointOut]:
    window = await service.list_endpoints(session, actor, params)
    return Page[EndpointOut].of(window, EndpointOut.model_validate)


@router.get(
    "/endpoints/{endpoint_id}",
    summary="Get a webhook endpoint",
    description=(
        "One webhook endpoint the calling client registered: its URL, event types and state. The "
        "signing secret is not shown."
    ),
    response_model=EndpointOut,
    responses=responses_for(*AUTH_ERRORS, service.EndpointNotFound),
)
async def webhooks_endpoints_get(
    request: Request, endpoint_id: uuid.UUID, actor: Manager, session: SessionDep
) -> Response:
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    return resource_response(request, EndpointOut.model_validate(endpoint))


@router.patch(
    "/endpoints/{endpoint_id}",
    summary="Change a webhook endpoint",
    response_model=EndpointOut,
    responses=responses_for(
        *AUTH_ERRORS, service.EndpointNotFound, PreconditionFailed, UnprocessableContent
    ),
)
async def webhooks_endpoints_update(
    request: Request,
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
    actor: Manager,
    session: SessionDep,
) -> Response:
    """Change the URL, the event types, the description, or enable it again (which clears
    `disabled_reason`). Send `If-Match` to refuse overwriting a change made meanwhile."""
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    check_if_match(request, EndpointOut.model_validate(endpoint))
    await service.update_endpoint(session, endpoint, data, request.app.state.settings)
    return resource_response(request, EndpointOut.model_validate(endpoint))


@router.delete(
    "/endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.EndpointNotFound, PreconditionFailed),
)
async def webhooks_endpoints_delete(
    request: Request, endpoint_id: uuid.UUID, actor: Manager, session: SessionDep
) -> Response:
    """Stop all deliveries to it and forget its delivery log."""
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    check_if_match(request, EndpointOut.model_validate(endpoint))
    await service.delete_endpoint(session, endpoint)
    return Response(status_code=204)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    summary="Rotate a webhook endpoint's signing secret",
    response_model=SecretRotated,
    responses=responses_for(*AUTH_ERRORS, service.EndpointNotFound),
)
async def webhooks_endpoints_rotate_secret(
    request: Request, endpoint_id: uuid.UUID, actor: Manager, session: SessionDep, now: Now
) -> Response:
    """Issue a new secret, shown once. For 24 hours every delivery carries two signatures,
    one by the old secret and one by the new, so receivers can switch without losing any."""
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    secret, expires = await service.rotate_secret(session, endpoint, now)
    body = SecretRotated(secret=secret, previous_secret_expires_at=expires)
    return resource_response(request, body, headers=NO_STORE)


@router.post(
    "/endpoints/{endpoint_id}/test",
    summary="Send a test event to a webhook endpoint",
    status_code=202,
    response_model=DeliveryOut,
    responses=responses_for(*AUTH_ERRORS, service.EndpointNotFound),
)
async def webhooks_endpoints_test(
    endpoint_id: uuid.UUID, actor: Manager, session: SessionDep, now: Now
) -> DeliveryOut:
    """Queue a `webhook.ping` event for this endpoint alone; follow it in its deliveries."""
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    return DeliveryOut.model_validate(await service.send_test(session, endpoint, now))


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    summary="List a webhook endpoint's deliveries",
    response_model=Page[DeliveryOut],
    responses=responses_for(*AUTH_ERRORS, service.EndpointNotFound, InvalidCursor),
)
async def webhooks_deliveries_list(
    endpoint_id: uuid.UUID,
    actor: Manager,
    session: SessionDep,
    params: PageParams,
    status: Annotated[
        DeliveryStatus | None, Query(description="Only deliveries in this state.")
    ] = None,
) -> Page[DeliveryOut]:
    """Newest first."""
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    window = await service.list_deliveries(session, endpoint, params, status)
    return Page[DeliveryOut].of(window, DeliveryOut.model_validate)


@router.get(
    "/deliveries/{delivery_id}/attempts",
    summary="List a delivery's attempts",
    response_model=Page[AttemptOut],
    responses=responses_for(*AUTH_ERRORS, service.DeliveryNotFound, InvalidCursor),
)
async def webhooks_attempts_list(
    delivery_id: uuid.UUID, actor: Manager, session: SessionDep, params: PageParams
) -> Page[AttemptOut]:
    """Oldest first: when, how long, the status code or error, and the response's first 2 kB."""
    delivery = await service.get_delivery(session, actor, delivery_id)
    window = await service.list_attempts(session, delivery, params)
    return Page[AttemptOut].of(window, AttemptOut.model_validate)


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again",
    status_code=202,
    response_model=DeliveryOut,
    responses=responses_for(*AUTH_ERRORS, service.DeliveryNotFound),
)
async def webhooks_deliveries_redeliver(
    delivery_id: uuid.UUID, actor: Manager, session: SessionDep, now: Now
) -> DeliveryOut:
    """Queue it now with a fresh retry schedule and the same `webhook-id`."""
    delivery = await service.get_delivery(session, actor, delivery_id)
    return DeliveryOut.model_validate(await service.redeliver(session, delivery, now))


@router.post(
    "/endpoints/{endpoint_id}/replay",
    summary="Re-queue failed deliveries",
    status_code=202,
    response_model=ReplayOut,
    responses=responses_for(*AUTH_ERRORS, service.EndpointNotFound),
)
async def webhooks_endpoints_replay(
    endpoint_id: uuid.UUID, data: ReplayRequest, actor: Manager, session: SessionDep, now: Now
) -> ReplayOut:
    """Re-queue every failed delivery created since `since`, e.g. after an outage."""
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    return ReplayOut(requeued=await service.replay(session, endpoint, data.since, now))
