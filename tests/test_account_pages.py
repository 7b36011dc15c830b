"""The account pages, whole flows over HTTP with a real SMTP server: create an account and
verify the address; forget, reset, and what a reset ends; links used twice, expired, or for
someone else; an unknown address that gets the same page and no mail."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.account_tokens import AccountToken
from app.models.users import User
from app.services.account_tokens import token_for
from tests import smtp_support
from tests.account_pages_support import forgot, reset, sign_up, submit
from tests.conftest import Clock, MakeUser
from tests.oauth.flow import (
    authorize_url,
    csrf_of,
    exchange,
    obtain_code,
    pkce_pair,
    query_of,
    sign_in,
)
from tests.oauth.flow import refresh as use_refresh
from tests.smtp_support import Inbox, deliver, link_in

inbox = smtp_support.inbox
NEW_PASSWORD = "a brand new passphrase"


async def _user(db: AsyncSession, email: str) -> User:
    await db.rollback()
    user = await db.scalar(select(User).where(User.email_normalized == email.lower()))
    assert user is not None
    return user


async def test_sign_up_continues_the_authorization_and_the_mailed_link_verifies(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    inbox: Inbox,
    first_party_client: object,
) -> None:
    _, challenge = pkce_pair()
    authorize = authorize_url("rapport-mobile", challenge)
    start = await client.get(authorize)
    assert start.status_code == 303
    next_url = query_of(start.headers["location"])["next"]
    sign_in_page = await client.get(start.headers["location"])
    assert "/oauth/sign-up?next=" in sign_in_page.text, "the sign-in page offers sign-up"

    created = await sign_up(client, "Ann@Example.org", next_url=next_url)
    assert created.status_code == 303 and created.headers["location"] == next_url
    consent = await client.get(created.headers["location"])
    assert consent.status_code == 200 and "Allow" in consent.text, "signed in, asked to consent"
    assert "Your email address is not confirmed yet" in consent.text
    assert (await _user(db, "ann@example.org")).email_verified_at is None

    assert inbox.messages == [], "nothing is sent inside the request"
    assert await deliver(app, inbox) == 1
    [mail] = inbox.to("Ann@Example.org")
    assert mail["Subject"] == "Confirm your email address for Rapport"
    link = link_in(mail)
    assert link.startswith("/oauth/verify-email?token=")

    opened = await client.get(link)
    assert opened.status_code == 200 and "Confirm my email" in opened.text
    assert (await _user(db, "ann@example.org")).email_verified_at is None, "a GET changes nothing"
    token = link.split("token=", 1)[1]
    confirmed = await client.post(
        "/oauth/verify-email", data={"csrf_token": csrf_of(opened.text), "token": token}
    )
    assert confirmed.status_code == 200 and "is confirmed" in confirmed.text
    user = await _user(db, "ann@example.org")
    assert user.email_verified_at is not None
    access, _ = app.state.tokens.issue(
        subject=str(user.id), client_id="rapport-mobile", scope="profile"
    )
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200 and me.json()["email_verified"] is True

    again = await client.post(
        "/oauth/verify-email", data={"csrf_token": csrf_of(opened.text), "token": token}
    )
    assert again.status_code == 400 and "expired or was already used" in again.text
    assert await deliver(app, inbox) == 0, "a sent mail is never sent again"


async def test_sign_up_with_a_taken_email_or_a_weak_password_shows_the_form_again(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    taken = await sign_up(client, ann.user.email.upper())
    assert taken.status_code == 409 and "may already exist" in taken.text
    assert "rapport_session" not in taken.headers.get("set-cookie", "")
    weak = await sign_up(client, "bo@example.org", "short")
    assert weak.status_code == 422 and "Password" in weak.text
    same = await sign_up(client, "cy@example.org", "cy@example.org")
    assert same.status_code == 422 and "email" in same.text
    bad = await sign_up(client, "not an email")
    assert bad.status_code == 422 and 'role="alert"' in bad.text


async def test_resend_supersedes_the_first_link(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, inbox: Inbox
) -> None:
    await sign_up(client, "dee@example.org")
    status = await client.get("/oauth/verify-email")
    assert "dee@example.org" in status.text and "Send the link again" in status.text
    resent = await client.post(
        "/oauth/verify-email/resend", data={"csrf_token": csrf_of(status.text)}
    )
    assert resent.status_code == 200 and "We sent a new link" in resent.text
    assert await deliver(app, inbox) == 1, "the superseded first link is never mailed"
    newest = link_in(inbox.to("dee@example.org")[0])
    rows = (await db.scalars(select(AccountToken))).all()
    assert len(rows) == 2 and sum(row.ended_at is None for row in rows) == 1
    first = next(row for row in rows if row.ended_at is not None)
    old_link = f"/oauth/verify-email?token={token_for(app.state.settings.secret_key, first.id)}"
    assert (await client.get(old_link)).status_code == 400
    assert (await client.get(newest)).status_code == 200


async def test_a_reset_changes_the_password_and_ends_every_session_and_token(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    inbox: Inbox,
    first_party_client: object,
) -> None:
    ann = await make_user()
    grant = await obtain_code(client, "rapport-mobile", ann.user.email, ann.password)
    tokens = (await exchange(client, grant, "rapport-mobile")).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/v1/me", headers=bearer)).status_code == 200
    assert (await client.get(authorize_url("rapport-mobile", pkce_pair()[1]))).status_code != 303

    asked = await forgot(client, ann.user.email)
    assert asked.status_code == 200 and "Check your email" in asked.text
    assert await deliver(app, inbox) == 1
    [mail] = inbox.to(ann.user.email)
    assert mail["Subject"] == "Reset your Rapport password"
    link = link_in(mail)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=str(client.base_url)
    ) as phone:
        done = await reset(phone, link, NEW_PASSWORD)
    assert done.status_code == 200 and "Your password is changed" in done.text

    refused = await use_refresh(client, tokens["refresh_token"], "rapport-mobile")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await client.get("/v1/me", headers=bearer)).status_code == 401
    signed_out = await client.get(authorize_url("rapport-mobile", pkce_pair()[1]))
    assert signed_out.status_code == 303, "the browser's sign-in session is over"
    assert (await sign_in(client, ann.user.email, ann.password)).status_code == 400
    assert (await sign_in(client, ann.user.email, NEW_PASSWORD)).status_code == 200

    again = await reset(client, link, "yet another passphrase")
    assert again.status_code == 400 and "expired or was already used" in again.text


async def test_an_expired_link_is_refused(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox, clock: Clock
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    await deliver(app, inbox)
    link = link_in(inbox.to(ann.user.email)[0])
    clock.advance(timedelta(minutes=31))
    late = await reset(client, link, NEW_PASSWORD)
    assert late.status_code == 400 and "expired" in late.text
    assert (await sign_in(client, ann.user.email, ann.password)).status_code == 200


async def test_an_unknown_email_gets_the_same_page_and_no_mail(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox
) -> None:
    ann = await make_user()
    known = await forgot(client, ann.user.email)
    unknown = await forgot(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert set(known.headers) == set(unknown.headers)
    assert await deliver(app, inbox) == 1
    assert [m["To"] for m in inbox.messages] == [ann.user.email]


async def test_my_token_resets_only_my_password_and_a_forged_one_nothing(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox, db: AsyncSession
) -> None:
    ann, bob = await make_user(), await make_user()
    await forgot(client, bob.user.email)
    await deliver(app, inbox)
    bobs_link = link_in(inbox.to(bob.user.email)[0])
    assert (await reset(client, bobs_link, NEW_PASSWORD)).status_code == 200
    assert (await sign_in(client, ann.user.email, ann.password)).status_code == 200
    assert (await sign_in(client, bob.user.email, NEW_PASSWORD)).status_code == 200

    await forgot(client, ann.user.email)
    row = await db.scalar(select(AccountToken).where(AccountToken.user_id == ann.id))
    assert row is not None
    forged = token_for("another server's secret key", row.id)
    refused = await reset(client, f"/oauth/reset-password?token={forged}", NEW_PASSWORD)
    assert refused.status_code == 400
    page = await client.get("/oauth/forgot-password")
    posted = await client.post(
        "/oauth/reset-password",
        data={
            "csrf_token": csrf_of(page.text),
            "token": "",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert posted.status_code == 400
    assert (await sign_in(client, ann.user.email, ann.password)).status_code == 200


async def test_a_weak_or_mismatched_new_password_keeps_the_link_usable(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    await deliver(app, inbox)
    link = link_in(inbox.to(ann.user.email)[0])
    short = await reset(client, link, "short")
    assert short.status_code == 422 and 'role="alert"' in short.text
    mismatch = await reset(client, link, NEW_PASSWORD, "something else entirely")
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    assert (await reset(client, link, NEW_PASSWORD)).status_code == 200


async def test_a_newer_reset_request_supersedes_the_older_link(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, inbox: Inbox
) -> None:
    ann = await make_user()
    await forgot(client, ann.user.email)
    await deliver(app, inbox)
    await forgot(client, ann.user.email)
    await deliver(app, inbox)
    first, second = (link_in(m) for m in inbox.to(ann.user.email))
    assert (await reset(client, first, NEW_PASSWORD)).status_code == 400
    assert (await reset(client, second, NEW_PASSWORD)).status_code == 200


async def test_the_sign_out_page_ends_the_browser_session(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    await sign_in(client, ann.user.email, ann.password)
    page = await client.get("/oauth/logout")
    assert "You will need your password" in page.text
    out = await submit(client, "/oauth/logout", "/oauth/logout")
    assert out.status_code == 200 and "You are signed out" in out.text
    assert "You are not signed in" in (await client.get("/oauth/logout")).text


async def test_a_code_not_yet_exchanged_is_spent_by_a_reset(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    inbox: Inbox,
    first_party_client: object,
) -> None:
    ann = await make_user()
    grant = await obtain_code(client, "rapport-mobile", ann.user.email, ann.password)
    await forgot(client, ann.user.email)
    await deliver(app, inbox)
    assert (
        await reset(client, link_in(inbox.to(ann.user.email)[0]), NEW_PASSWORD)
    ).status_code == 200
    late = await exchange(client, grant, "rapport-mobile")
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
