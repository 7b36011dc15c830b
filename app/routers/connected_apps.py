"""Connected apps: the apps you allowed to act for you, and disconnecting them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.core.problems import InsufficientScope, Unauthorized, responses_for
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.schemas.connected_apps import ConnectedAppList, ConnectedAppOut
from app.services import connected_apps as service

router = APIRouter(prefix="/v1/me/connected-apps", tags=["connected-apps"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
Profile = Annotated[Member, member(Scope.profile)]
ClientId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "",
    summary="List my connected apps",
    response_model=ConnectedAppList,
    responses=responses_for(*AUTH_ERRORS),
)
async def connected_apps_list(me: Profile, session: SessionDep) -> ConnectedAppList:
    """Third-party apps you granted access to, and any app (Rapport's own included) that
    holds a live refresh token for you."""
    apps = await service.list_connected_apps(session, me)
    return ConnectedAppList(data=[ConnectedAppOut.model_validate(app) for app in apps])


@router.delete(
    "/{client_id}",
    summary="Disconnect an app",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.ConnectedAppNotFound),
)
async def connected_apps_revoke(client_id: ClientId, me: Profile, session: SessionDep) -> Response:
    """Revoke your consent and every refresh token the app holds for you, and tell your
    couple's other apps through a `consent.revoked` event. Refreshing stops at once, and so do
    webhook events for you and the access tokens the app already holds for you (they answer
    401, on every API process within seconds)."""
    await service.disconnect_app(session, me, client_id)
    return Response(status_code=204)
