"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, and helpers to
run the account-mail job against it and read the link from a mail."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from app.config import Settings
from app.jobs.context import JobContext
from app.jobs.emails import send_account_emails

LINK = re.compile(r"https?://[^/\s]+(/oauth/[a-z-]+\?token=[A-Za-z0-9_-]+)")


@dataclass
class Inbox:
    """Every mail the server accepted, in order; `refuse` makes it answer 451 instead."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if str(m["To"]).lower() == address.lower()]

    def settings(self, base: Settings) -> Settings:
        return base.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_starttls": False}
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


async def deliver(app: FastAPI, inbox: Inbox) -> int:
    """Run the `send_account_emails` job once, as the worker would, against the inbox."""
    settings = inbox.settings(app.state.settings)
    context = JobContext(app.state.sessionmaker, settings, lambda: app.state.clock())
    return await send_account_emails(context)


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match, body.get_content()
    return match.group(1)


__all__ = ["Inbox", "deliver", "inbox", "link_in"]
