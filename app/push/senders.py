"""The senders the settings configure: APNs and FCM when their keys are set, else log senders.

`senders_for(settings)` builds them once per settings object (a process keeps its HTTP/2
connections open between job runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.push.apns import APNsConfig, APNsSender
from app.push.base import LogSender, Sender
from app.push.fcm import FCMConfig, FCMSender


@dataclass
class Senders:
    apns: Sender
    fcm: Sender

    def for_provider(self, provider: str) -> Sender:
        return self.apns if provider == "apns" else self.fcm

    async def aclose(self) -> None:
        await self.apns.aclose()
        await self.fcm.aclose()


def build_senders(settings: Settings) -> Senders:
    apns: Sender = LogSender("apns")
    fcm: Sender = LogSender("fcm")
    if (
        settings.apns_key_file is not None
        and settings.apns_key_id
        and settings.apns_team_id
        and settings.apns_topic
    ):
        apns = APNsSender(
            APNsConfig.from_file(
                settings.apns_base_url,
                settings.apns_key_file,
                settings.apns_key_id,
                settings.apns_team_id,
                settings.apns_topic,
            )
        )
    if settings.fcm_service_account_file is not None and settings.fcm_project_id:
        fcm = FCMSender(
            FCMConfig.from_file(
                settings.fcm_base_url,
                settings.fcm_project_id,
                settings.fcm_service_account_file,
                settings.fcm_token_url,
            )
        )
    return Senders(apns, fcm)


_BUILT: dict[int, tuple[Settings, Senders]] = {}


def senders_for(settings: Settings) -> Senders:
    built = _BUILT.get(id(settings))
    if built is None or built[0] is not settings:
        built = (settings, build_senders(settings))
        _BUILT[id(settings)] = built
    return built[1]
