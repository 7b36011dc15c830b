"""OAuth client management: register apps, change them, rotate secrets, disable them.

Every operation needs the `admin:users` scope and, checked on each request since roles
change, an account whose role is admin (curators and members get 403).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.core.etag import check_if_match, resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.schemas.admin_clients import ClientCreate, ClientOut, ClientUpdate, ClientWithSecret
from app.services import admin_clients as service
from app.services.clients import ClientExists

router = APIRouter(prefix="/v1/admin/clients", tags=["admin-clients"])
AUTH_ERRORS = (Unauthorized, InsufficientScope, service.NotAdmin)
# A person's token: the service checks, on each request, that their role is admin.
Admin = Annotated[Member, member(Scope.admin_users)]
ClientId = Annotated[str, Path(min_length=1, max_length=64)]
NO_STORE = {"Cache-Control": "no-store"}


@router.post(
    "",
    summary="Register a client",
    status_code=201,
    response_model=ClientWithSecret,
    responses=responses_for(*AUTH_ERRORS, ClientExists, UnprocessableContent),
)
async def admin_clients_create(
    request: Request, data: ClientCreate, me: Admin, session: SessionDep
) -> Response:
    """Register an app. A confidential client's secret is in this response only
    (`Cache-Control: no-store`); store it at once."""
    registered = await service.create_client(
        session,
        me,
        name=data.name,
        redirect_uris=data.redirect_uris,
        scopes=[scope.value for scope in data.scopes],
        confidential=data.confidential,
    )
    client = registered.client
    return resource_response(
        request,
        ClientWithSecret.with_secret(client, registered.secret),
        status_code=201,
        headers={**NO_STORE, "Location": f"/v1/admin/clients/{client.client_id}"},
    )


@router.get(
    "",
    summary="List clients",
    response_model=Page[ClientOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def admin_clients_list(params: PageParams, me: Admin, session: SessionDep) -> Page[ClientOut]:
    """Every registered client, disabled ones included, oldest first."""
    window = await service.list_clients(session, me, params)
    return Page[ClientOut].of(window, ClientOut.from_client)


@router.get(
    "/{client_id}",
    summary="Get a client",
    description=(
        "One registered OAuth client: its kind, redirect URIs, allowed scopes and state. The "
        "secret is never shown again."
    ),
    response_model=ClientOut,
    responses=responses_for(*AUTH_ERRORS, service.ClientNotFound),
)
async def admin_clients_get(
    request: Request, client_id: ClientId, me: Admin, session: SessionDep
) -> Response:
    client = await service.get_client(session, me, client_id)
    return resource_response(request, ClientOut.from_client(client))


@router.patch(
    "/{client_id}",
    summary="Change a client",
    response_model=ClientOut,
    responses=responses_for(
        *AUTH_ERRORS,
        service.ClientNotFound,
        PreconditionFailed,
        PreconditionRequired,
        UnprocessableContent,
    ),
)
async def admin_clients_update(
    request: Request,
    client_id: ClientId,
    data: ClientUpdate,
    me: Admin,
    session: SessionDep,
) -> Response:
    """Change the name, redirect URIs, scopes, or disable (or enable) the client. `If-Match`
    is required. Disabling revokes its refresh tokens and stops its access tokens at once."""
    client = await service.get_client(session, me, client_id)
    check_if_match(request, ClientOut.from_client(client), required=True)
    changes = service.ClientChanges(
        name=data.name,
        redirect_uris=data.redirect_uris,
        scopes=[scope.value for scope in data.scopes] if data.scopes is not None else None,
        disabled=data.disabled,
    )
    await service.update_client(session, client, changes)
    return resource_response(request, ClientOut.from_client(client))


@router.post(
    "/{client_id}/rotate-secret",
    summary="Rotate a client's secret",
    response_model=ClientWithSecret,
    responses=responses_for(*AUTH_ERRORS, service.ClientNotFound, service.PublicClientHasNoSecret),
)
async def admin_clients_rotate_secret(
    request: Request, client_id: ClientId, me: Admin, session: SessionDep
) -> Response:
    """Replace a confidential client's secret; the old one stops working at once. The new
    secret is in this response only (`Cache-Control: no-store`)."""
    client = await service.get_client(session, me, client_id)
    secret = await service.rotate_secret(session, client)
    body = ClientWithSecret.with_secret(client, secret)
    return resource_response(request, body, headers=NO_STORE)


@router.delete(
    "/{client_id}",
    summary="Disable a client",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.ClientNotFound),
)
async def admin_clients_delete(client_id: ClientId, me: Admin, session: SessionDep) -> Response:
    """Disable the client, revoke its refresh tokens and stop its access tokens (401 from
    now on, on every API process within seconds). It is kept (consents, tokens and
    deliveries refer to it); `PATCH` with `disabled: false` enables it again."""
    client = await service.get_client(session, me, client_id)
    await service.disable_client(session, client)
    return Response(status_code=204)
