"""Outbound mail: templates in three languages, the log sender, and the outbox job against
a real SMTP server: a refusal or an absent server loses nothing, a sent mail is not sent
again, and a retry after a crash repeats the same mail."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Environment
from app.email.rendering import LANGUAGES, language_for, render_email
from app.email.senders import EmailNotSent, SmtpSender, compose
from app.jobs.context import JobContext
from app.jobs.emails import send_account_emails, sweep_account_tokens
from app.jobs.registry import JOBS
from app.models.account_tokens import AccountToken
from app.models.users import User
from tests import smtp_support
from tests.account_pages_support import forgot, sign_up
from tests.conftest import Clock, MakeUser
from tests.smtp_support import Inbox, deliver, free_port, link_in

inbox = smtp_support.inbox


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("es-419", "es"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("", "en"),
        ("fr-CH, es;q=0.9, de;q=0.8", "es"),
        (None, "en"),
    ],
)
def test_the_language_comes_from_the_locale(locale: str | None, language: str) -> None:
    assert language_for(locale) == language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ["reset_password", "verify_email"])
def test_every_template_renders_a_subject_and_the_link(name: str, language: str) -> None:
    mail = render_email(name, language, link="https://r.test/x?token=abc", minutes=30, hours=24)
    assert mail.language == language and mail.subject and "\n" not in mail.subject
    assert "https://r.test/x?token=abc" in mail.body
    assert ("30" if name == "reset_password" else "24") in mail.body


async def test_a_german_browser_gets_a_german_mail(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, inbox: Inbox
) -> None:
    await sign_up(client, "dora@example.org", headers={"Accept-Language": "de-DE,de;q=0.9"})
    user = await db.scalar(select(User).where(User.email_normalized == "dora@example.org"))
    assert user is not None and user.locale == "de"
    await deliver(app, inbox)
    [mail] = inbox.to("dora@example.org")
    assert mail["Subject"] == "Bestätigen Sie Ihre E-Mail-Adresse für Rapport"
    assert mail["Auto-Submitted"] == "auto-generated"


async def test_a_mail_carries_a_link_and_nothing_personal(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox
) -> None:
    ann = await make_user(display_name="Annabel Secretname")
    await forgot(client, ann.user.email)
    await deliver(app, inbox)
    [mail] = inbox.to(ann.user.email)
    body = mail.get_body(("plain",))
    assert body is not None
    assert "Secretname" not in body.get_content() and "Secretname" not in str(mail)


async def test_a_refused_mail_is_kept_and_sent_once_later(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox, clock: Clock
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    inbox.refuse = True
    assert await deliver(app, inbox) == 0
    inbox.refuse = False
    assert await deliver(app, inbox) == 0, "claimed: waits for its lease to end"
    clock.advance(timedelta(minutes=3))
    assert await deliver(app, inbox) == 1
    assert await deliver(app, inbox) == 0
    assert len(inbox.to(ann.user.email)) == 1


async def test_an_absent_server_loses_nothing(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox, clock: Clock
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    absent = Inbox(port=free_port())
    assert await deliver(app, absent) == 0
    clock.advance(timedelta(minutes=3))
    assert await deliver(app, inbox) == 1


async def test_a_crash_after_sending_repeats_the_same_mail(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    inbox: Inbox,
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    await deliver(app, inbox)
    async with app.state.sessionmaker() as session, session.begin():
        # As if the worker died after the server accepted the mail, before marking it sent.
        await session.execute(update(AccountToken).values(sent_at=None, claimed_until=None))
    await deliver(app, inbox)
    first, second = inbox.to(ann.user.email)
    assert first["Message-ID"] == second["Message-ID"]
    assert link_in(first) == link_in(second)


async def test_without_smtp_the_job_writes_the_mail_to_the_log(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    settings = app.state.settings
    assert settings.smtp_host is None
    context = JobContext(app.state.sessionmaker, settings, lambda: app.state.clock())
    with caplog.at_level(logging.INFO, logger="rapport.email"):
        assert await send_account_emails(context) == 1
    assert "/oauth/reset-password?token=" in caplog.text

    caplog.clear()
    await forgot(client, ann.user.email)
    production = settings.model_copy(update={"environment": Environment.production})
    context = JobContext(app.state.sessionmaker, production, lambda: app.state.clock())
    with caplog.at_level(logging.INFO, logger="rapport.email"):
        assert await send_account_emails(context) == 1
    assert "dropped" in caplog.text and "token=" not in caplog.text


async def test_the_smtp_sender_raises_when_refused(app: FastAPI, inbox: Inbox) -> None:
    sender = SmtpSender(inbox.settings(app.state.settings))
    message = compose(sender="a@r.test", to="b@r.test", subject="s", body="b", message_id="<1@r>")
    inbox.refuse = True
    with pytest.raises(EmailNotSent):
        await sender.send(message)
    inbox.refuse = False
    await sender.send(message)
    assert len(inbox.messages) == 1


async def test_used_tokens_are_swept_a_day_later(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession, clock: Clock
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    await forgot(client, ann.user.email)
    context = JobContext(app.state.sessionmaker, app.state.settings, lambda: app.state.clock())
    assert await sweep_account_tokens(context) == 0
    clock.advance(timedelta(days=1, minutes=1))
    assert await sweep_account_tokens(context) == 1, "the superseded one"
    clock.advance(timedelta(hours=1))
    assert await sweep_account_tokens(context) == 1, "the expired one"
    assert (await db.scalars(select(AccountToken))).all() == []


def test_the_jobs_are_scheduled() -> None:
    names = {job.name for job in JOBS}
    assert {"send_account_emails", "sweep_account_tokens"} <= names
