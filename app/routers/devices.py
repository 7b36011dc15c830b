"""Devices for push notifications, and the notification settings of the signed-in person."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.core.etag import check_if_match, resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.models.push import Device
from app.schemas.devices import (
    DeviceCreate,
    DeviceOut,
    NotificationSettingsOut,
    NotificationSettingsPatch,
)
from app.services import devices as service
from app.services import notification_settings as settings_service
from app.services.erasure import FirstPartyOnly

router = APIRouter(prefix="/v1/me", tags=["me"])
AUTH_ERRORS = (Unauthorized, InsufficientScope, FirstPartyOnly)
Owner = Annotated[Member, member(Scope.profile)]
_LOCATION = {
    "Location": {
        "description": "The device's own URL.",
        "schema": {"type": "string", "format": "uri-reference"},
    }
}


def _out(device: Device) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        provider=device.provider,
        platform=device.platform,
        token_hint=device.token[-6:],
        app_version=device.app_version,
        locale=device.locale,
        created_at=device.created_at,
        updated_at=device.updated_at,
    )


@router.post(
    "/devices",
    summary="Register a device for push notifications",
    status_code=201,
    response_model=DeviceOut,
    responses={
        200: {"description": "The token was registered already: the device, updated"},
        201: {"description": "The device is registered", "headers": _LOCATION},
        **responses_for(*AUTH_ERRORS, UnprocessableContent),
    },
)
async def devices_create(
    request: Request, data: DeviceCreate, me: Owner, session: SessionDep
) -> Response:
    """Register this device's APNs or FCM token so that it gets your notifications. The same
    token again updates the device (`200`); a token another person registered moves to you
    (a shared phone). Signing out of the session that registered it (revoking its refresh
    token, a password change, deleting the account, a safety exit) removes it. Only the
    Rapport app itself (first-party) may register devices; needs `profile`."""
    device, created = await service.register_device(session, me, data)
    location = f"/v1/me/devices/{device.id}"
    return resource_response(
        request,
        _out(device),
        status_code=201 if created else 200,
        headers={"Location": location} if created else None,
    )


@router.get(
    "/devices",
    summary="List my devices",
    response_model=Page[DeviceOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def devices_list(me: Owner, session: SessionDep, params: PageParams) -> Page[DeviceOut]:
    """The devices that get your push notifications, oldest first."""
    window = await service.list_devices(session, me, params)
    return Page.of(window, _out)


@router.delete(
    "/devices",
    summary="Remove all my devices",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS),
)
async def devices_delete_all(me: Owner, session: SessionDep) -> Response:
    """Stop push notifications on every device of yours."""
    await service.delete_all_devices(session, me)
    return Response(status_code=204)


@router.get(
    "/devices/{device_id}",
    summary="Get a device",
    response_model=DeviceOut,
    responses=responses_for(*AUTH_ERRORS, service.DeviceNotFound),
)
async def devices_get(
    request: Request, device_id: uuid.UUID, me: Owner, session: SessionDep
) -> Response:
    """One of your devices; another person's answers 404."""
    return resource_response(request, _out(await service.get_device(session, me, device_id)))


@router.delete(
    "/devices/{device_id}",
    summary="Remove a device",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.DeviceNotFound),
)
async def devices_delete(device_id: uuid.UUID, me: Owner, session: SessionDep) -> Response:
    """Stop push notifications on this device (the app calls it when you turn them off)."""
    await service.delete_device(session, me, device_id)
    return Response(status_code=204)


def _settings_out(effective: settings_service.Effective) -> NotificationSettingsOut:
    row = effective.settings
    return NotificationSettingsOut(
        types={kind: settings_service.is_on(row, kind) for kind in settings_service.KINDS},
        daily_prompt_time=settings_service.shown(row.daily_prompt_time) or "",
        quiet_hours_start=settings_service.shown(row.quiet_hours_start),
        quiet_hours_end=settings_service.shown(row.quiet_hours_end),
        weekly_nudge_cap=row.weekly_nudge_cap,
        timezone=effective.timezone,
    )


@router.get(
    "/notification-settings",
    summary="Get my notification settings",
    response_model=NotificationSettingsOut,
    responses=responses_for(*AUTH_ERRORS),
)
async def notification_settings_get(request: Request, me: Owner, session: SessionDep) -> Response:
    """Which notifications you get and when; local times are in your couple's time zone."""
    effective = await settings_service.get_settings(session, me)
    return resource_response(request, _settings_out(effective))


@router.patch(
    "/notification-settings",
    summary="Change my notification settings",
    response_model=NotificationSettingsOut,
    responses=responses_for(*AUTH_ERRORS, PreconditionFailed, UnprocessableContent),
)
async def notification_settings_update(
    request: Request, data: NotificationSettingsPatch, me: Owner, session: SessionDep
) -> Response:
    """Turn kinds on or off (`types`), move the daily reminder (`daily_prompt_time`, local
    `HH:MM`), set quiet hours (both ends, or both null for none) or the weekly cap on
    reminders. Send `If-Match` to avoid lost updates."""
    current = await settings_service.get_settings(session, me)
    check_if_match(request, _settings_out(current))
    effective = await settings_service.update_settings(session, me, data)
    return resource_response(request, _settings_out(effective))
