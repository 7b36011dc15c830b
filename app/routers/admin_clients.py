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
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.oauth import OAuthClient
from app.schemas.admin_clients import ClientCreate, ClientOut, ClientUpdate, ClientWithSecret
from app.services import admin_clients as service
from app.services.clients import ClientExists

router = APIRouter(prefix="/v1/admin/clients", tags=["admin-clients"])
AUTH_ERRORS = (Unauthorized, InsufficientScope, service.NotAdmin)
Admin = Annotated[Actor, require(Scope.admin_users)]
ClientId = Annotated[str, Path(min_length=1, max_length=64)]
NO_STORE = {"Cache-Control": "no-store"}


def client_out(client: OAuthClient) -> ClientOut:
    return ClientOut(
        client_id=client.client_id,
        name=client.name,
        redirect_uris=client.redirect_uris,
        scopes=client.allowed_scopes,
        confidential=client.is_confidential,
        first_party=client.is_first_party,
        created_at=client.created_at,
        updated_at=client.updated_at,
        secret_rotated_at=client.secret_rotated_at,
        disabled=client.disabled_at is not None,
        disabled_at=client.disabled_at,
    )


def _with_secret(client: OAuthClient, secret: str | None) -> ClientWithSecret:
    return ClientWithSecret(**client_out(client).model_dump(), client_secret=secret)


@router.post(
    "",
    summary="Register a client",
    status_code=201,
    response_model=ClientWithSecret,
    responses=responses_for(*AUTH_ERRORS, ClientExists, UnprocessableContent),
)
async def admin_clients_create(
    request: Request, data: ClientCreate, actor: Admin, session: SessionDep
) -> Response:
    """Register an app. A confidential client's secret is in this response only
    (`Cache-Control: no-store`); store it at once."""
    await service.require_admin(session, actor.require_user())
    registered = await service.create_client(
        session,
        name=data.name,
        redirect_uris=data.redirect_uris,
        scopes=[scope.value for scope in data.scopes],
        confidential=data.confidential,
    )
    client = registered.client
    return resource_response(
        request,
        _with_secret(client, registered.secret),
        status_code=201,
        headers={**NO_STORE, "Location": f"/v1/admin/clients/{client.client_id}"},
    )


@router.get(
    "",
    summary="List clients",
    response_model=Page[ClientOut],
    responses=responses_for(*AUTH_ERRORS),
)
async def admin_clients_list(
    params: PageParams, actor: Admin, session: SessionDep
) -> Page[ClientOut]:
    """Every registered client, disabled ones included, oldest first."""
    await service.require_admin(session, actor.require_user())
    window = await service.list_clients(session, params)
    return Page[ClientOut].of(window, client_out)


@router.get(
    "/{client_id}",
    summary="Get a client",
    response_model=ClientOut,
    responses=responses_for(*AUTH_ERRORS, service.ClientNotFound),
)
async def admin_clients_get(
    request: Request, client_id: ClientId, actor: Admin, session: SessionDep
) -> Response:
    await service.require_admin(session, actor.require_user())
    client = await service.get_client(session, client_id)
    return resource_response(request, client_out(client))


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
    actor: Admin,
    session: SessionDep,
) -> Response:
    """Change the name, redirect URIs, scopes, or disable (or enable) the client. `If-Match`
    is required. Disabling revokes its refresh tokens and stops its access tokens at once."""
    await service.require_admin(session, actor.require_user())
    client = await service.get_client(session, client_id)
    check_if_match(request, client_out(client), required=True)
    changes = service.ClientChanges(
        name=data.name,
        redirect_uris=data.redirect_uris,
        scopes=[scope.value for scope in data.scopes] if data.scopes is not None else None,
        disabled=data.disabled,
    )
    await service.update_client(session, client, changes)
    return resource_response(request, client_out(client))


@router.post(
    "/{client_id}/rotate-secret",
    summary="Rotate a client's secret",
    response_model=ClientWithSecret,
    responses=responses_for(*AUTH_ERRORS, service.ClientNotFound, service.PublicClientHasNoSecret),
)
async def admin_clients_rotate_secret(
    request: Request, client_id: ClientId, actor: Admin, session: SessionDep
) -> Response:
    """Replace a confidential client's secret; the old one stops working at once. The new
    secret is in this response only (`Cache-Control: no-store`)."""
    await service.require_admin(session, actor.require_user())
    client = await service.get_client(session, client_id)
    secret = await service.rotate_secret(session, client)
    return resource_response(request, _with_secret(client, secret), headers=NO_STORE)


@router.delete(
    "/{client_id}",
    summary="Disable a client",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.ClientNotFound),
)
async def admin_clients_delete(client_id: ClientId, actor: Admin, session: SessionDep) -> Response:
    """Disable the client, revoke its refresh tokens and stop its access tokens (401 from
    now on, on every API process within seconds). It is kept (consents, tokens and
    deliveries refer to it); `PATCH` with `disabled: false` enables it again."""
    await service.require_admin(session, actor.require_user())
    client = await service.get_client(session, client_id)
    await service.disable_client(session, client)
    return Response(status_code=204)
