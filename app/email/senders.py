"""Who sends a mail: SMTP (aiosmtplib) when `RAPPORT_SMTP_HOST` is set, else the log.

sender = create_sender(settings)
await sender.send(message)   # raises EmailNotSent when the server refused or was away
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib

from app.config import Environment, Settings

log = logging.getLogger("rapport.email")


class EmailNotSent(Exception):
    """The mail was not accepted; the caller may try again later."""


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def compose(*, sender: str, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    """A plain-text mail. A retry of the same mail carries the same Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(body)
    return message


class SmtpSender:
    """One connection per mail: account mails are few, and a fresh connection needs no
    pool to be kept healthy between them."""

    def __init__(self, settings: Settings) -> None:
        if settings.smtp_host is None:
            raise ValueError("RAPPORT_SMTP_HOST is not set")
        self.hostname = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = (
            settings.smtp_password.get_secret_value() if settings.smtp_password else None
        )
        self.start_tls = settings.smtp_starttls
        self.timeout = settings.smtp_timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise EmailNotSent(f"{type(error).__name__}: {error}") from error


class LogSender:
    """Writes mails to the log instead of sending them: the default without SMTP.

    Outside production the whole mail is logged, so a developer can follow its link; in
    production only that a mail was dropped (its link must not land in the logs)."""

    def __init__(self, settings: Settings) -> None:
        self.show_body = settings.environment is not Environment.production

    async def send(self, message: EmailMessage) -> None:
        if self.show_body:
            log.info(
                "email (not sent, RAPPORT_SMTP_HOST is unset) %s\n%s",
                message["Subject"],
                message.get_content(),
                extra={"message_id": message["Message-ID"]},
            )
        else:
            log.warning(
                "email dropped: RAPPORT_SMTP_HOST is unset",
                extra={"message_id": message["Message-ID"]},
            )


def create_sender(settings: Settings) -> EmailSender:
    return SmtpSender(settings) if settings.smtp_host else LogSender(settings)
