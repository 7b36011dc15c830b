"""Devices a person registered for push notifications.

Only Rapport's own (first-party) apps register devices: a push reaches a lock screen, and
a third-party app has its own channel. A token belongs to one person at a time: registering a
token another person holds (a shared phone, a new account) moves it, and the old owner's
device row goes with whatever was queued for it. Registering the same token again updates
the device (200) instead of adding one (201). The device remembers the refresh-token family
of the token that registered it (`sid`): signing that session out deletes it (see
`app.models.push.forget_devices`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import FieldError, NotFound, UnprocessableContent
from app.core.security import Member
from app.models.push import Device, Platform, Provider
from app.schemas.devices import DeviceCreate
from app.services.clients import is_first_party
from app.services.erasure import FirstPartyOnly


class DeviceNotFound(NotFound):
    slug = "device-not-found"
    title = "Device not found"


async def require_first_party(session: AsyncSession, me: Member) -> None:
    if not await is_first_party(session, me.client_id):
        raise FirstPartyOnly(
            "Push notifications reach a person's lock screen: only the Rapport app itself "
            "can register devices for them."
        )


def _check(data: DeviceCreate) -> None:
    if data.provider is Provider.apns and data.platform is not Platform.ios:
        raise UnprocessableContent(
            "APNs tokens come from iOS devices.",
            errors=[FieldError(pointer="#/platform", detail="must be ios with apns")],
        )
    if data.provider is Provider.apns and not all(
        c in "0123456789abcdefABCDEF" for c in data.token
    ):
        raise UnprocessableContent(
            "An APNs device token is hexadecimal.",
            errors=[FieldError(pointer="#/token", detail="must be hexadecimal for apns")],
        )


async def register_device(
    session: AsyncSession, me: Member, data: DeviceCreate
) -> tuple[Device, bool]:
    """The device, and whether it is new for this person."""
    await require_first_party(session, me)
    _check(data)
    token = data.token.lower() if data.provider is Provider.apns else data.token
    for _ in range(3):
        existing = await session.scalar(
            select(Device)
            .where(Device.provider == data.provider, Device.token == token)
            .with_for_update()
        )
        if existing is not None and existing.user_id == me.user_id:
            existing.platform = data.platform
            existing.app_version = data.app_version
            existing.locale = data.locale
            existing.client_id = me.client_id
            existing.session_id = me.session_id
            await session.flush()
            return existing, False
        try:
            async with session.begin_nested():
                if existing is not None:  # another person's token: it moves to this person
                    await session.delete(existing)
                    await session.flush()
                device = Device(
                    user_id=me.user_id,
                    client_id=me.client_id,
                    session_id=me.session_id,
                    platform=data.platform,
                    provider=data.provider,
                    token=token,
                    app_version=data.app_version,
                    locale=data.locale,
                )
                session.add(device)
                await session.flush()
            return device, True
        except IntegrityError:
            continue  # registered concurrently: look again
    raise UnprocessableContent("The device could not be registered; try again.")


async def list_devices(session: AsyncSession, me: Member, params: PageQuery) -> Window[Device]:
    await require_first_party(session, me)
    statement = select(Device).where(Device.user_id == me.user_id)
    return await paginate(session, statement, order=(Device.created_at, Device.id), params=params)


async def get_device(session: AsyncSession, me: Member, device_id: uuid.UUID) -> Device:
    await require_first_party(session, me)
    device = await session.get(Device, device_id)
    if device is None or device.user_id != me.user_id:
        raise DeviceNotFound("No such device among yours.")
    return device


async def delete_device(session: AsyncSession, me: Member, device_id: uuid.UUID) -> None:
    device = await get_device(session, me, device_id)
    await session.delete(device)
    await session.flush()


async def delete_all_devices(session: AsyncSession, me: Member) -> None:
    """Stop every push to this person, on every device."""
    await require_first_party(session, me)
    await session.execute(delete(Device).where(Device.user_id == me.user_id))
