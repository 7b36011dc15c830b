"""One journey through Rapport with the Python client generated from openapi/openapi.json.

    PYTHONPATH=<generated> python tests/sdk/journey.py BASE_URL CLIENT_ID CLIENT_SECRET

The app (a confidential client allowed the member scopes and `webhooks:manage`) registers a
webhook endpoint on a local receiver; two people sign up, sign in through the hosted page
(authorization code + PKCE, plain form posts), pair, answer today's prompt (the reveal, and
a 304 on the ETag), share a check-in and reflect on it, read their insights; the receiver
verifies every delivery with `standardwebhooks`. Exits non-zero on the first surprise.
tests/test_sdk_journeys.py generates the client, type-checks this file with it and runs it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from rapport_client import AuthenticatedClient, Client
from rapport_client.api.checkins import checkins_create, checkins_reflections_create
from rapport_client.api.couples import couples_create, couples_get_mine, couples_join
from rapport_client.api.daily_prompts import answers_put, daily_prompts_today
from rapport_client.api.insights import insights_get
from rapport_client.api.me import me_get
from rapport_client.api.oauth import oauth_token
from rapport_client.api.users import users_create
from rapport_client.api.webhooks import webhooks_endpoints_create
from rapport_client.models import (
    AnswerIn,
    CheckInIn,
    CheckInOut,
    CheckInReflectionIn,
    CheckInReflectionOut,
    CoupleCreate,
    CoupleCreated,
    CoupleOut,
    DayOut,
    EndpointCreate,
    EndpointCreated,
    InsightsOut,
    JoinRequest,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserOut,
)
from rapport_client.types import Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

REDIRECT_URI = "http://127.0.0.1/oauth/callback"
SCOPES = (
    "profile couple:read couple:write prompts:read answers:read answers:write "
    "checkins:read checkins:write insights:read"
)
EXPECTED_EVENTS = {"couple.joined", "answer.revealed", "checkin.shared"}
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
T = TypeVar("T")


def parsed(response: Response[Any], status: int, kind: type[T]) -> T:
    """The typed body of a response that must have this status."""
    if response.status_code != status or not isinstance(response.parsed, kind):
        raise AssertionError(f"expected {status}, got {response.status_code}: {response.content!r}")
    return response.parsed


class Receiver(ThreadingHTTPServer):
    """Records every webhook delivery it gets, on 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with self.server.lock:
            self.server.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(HTTPStatus.NO_CONTENT)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def sign_in(base_url: str, client_id: str, secret: str, email: str, password: str) -> str:
    """The hosted sign-in and consent pages with plain form posts; the code exchanged (PKCE)
    through the generated client. Returns an access token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPES,
        "state": state,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=base_url) as browser:
        start = browser.get("/oauth/authorize?" + urlencode(query))
        assert start.status_code == 303, start.text
        next_url = parse_qs(urlsplit(start.headers["location"]).query)["next"][0]
        page = browser.get("/oauth/sign-in", params={"next": next_url})
        form = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
        signed_in = browser.post(
            "/oauth/sign-in", data={**form, "next": next_url, "email": email, "password": password}
        )
        assert signed_in.status_code == 303, signed_in.text
        consent_page = browser.get(signed_in.headers["location"])
        assert consent_page.status_code == 200, consent_page.text
        fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(consent_page.text)}
        landed = browser.post("/oauth/authorize", data={**fields, "decision": "allow"})
    assert landed.status_code == 302, landed.text
    callback = parse_qs(urlsplit(landed.headers["location"]).query)
    assert callback["state"] == [state]
    request = TokenRequest(
        grant_type="authorization_code",
        code=callback["code"][0],
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
        client_id=client_id,
        client_secret=secret,
    )
    token = parsed(
        oauth_token.sync_detailed(client=Client(base_url), body=request), 200, TokenResponse
    )
    assert token.token_type == "Bearer" and set(token.scope.split()) == set(SCOPES.split())
    return token.access_token


def app_token(base_url: str, client_id: str, secret: str) -> str:
    request = TokenRequest(
        grant_type="client_credentials",
        scope="webhooks:manage",
        client_id=client_id,
        client_secret=secret,
    )
    response = oauth_token.sync_detailed(client=Client(base_url), body=request)
    return parsed(response, 200, TokenResponse).access_token


def main(base_url: str, client_id: str, secret: str) -> None:
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()

    # The app registers its webhook endpoint with its own (client credentials) token.
    partner = AuthenticatedClient(base_url, token=app_token(base_url, client_id, secret))
    endpoint = parsed(
        webhooks_endpoints_create.sync_detailed(
            client=partner,
            body=EndpointCreate(url=receiver.url, event_types=sorted(EXPECTED_EVENTS)),
        ),
        201,
        EndpointCreated,
    )

    # Two people sign up and sign in to the app.
    anonymous = Client(base_url)
    members: list[AuthenticatedClient] = []
    ids: list[str] = []
    for name in ("Ann", "Bo"):
        email, password = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com", "a long passphrase"
        account = UserCreate(email=email, password=password, display_name=name)
        user = parsed(users_create.sync_detailed(client=anonymous, body=account), 201, UserOut)
        token = sign_in(base_url, client_id, secret, email, password)
        members.append(AuthenticatedClient(base_url, token=token))
        ids.append(str(user.id))
    ann, bo = members
    assert parsed(me_get.sync_detailed(client=ann), 200, UserOut).display_name == "Ann"

    # Ann creates the couple; Bo joins with the invite code.
    created = parsed(
        couples_create.sync_detailed(client=ann, body=CoupleCreate()), 201, CoupleCreated
    )
    assert created.invite.code
    joined = couples_join.sync_detailed(client=bo, body=JoinRequest(code=created.invite.code))
    assert len(parsed(joined, 200, CoupleOut).members) == 2
    assert parsed(couples_get_mine.sync_detailed(client=ann), 200, CoupleOut).id == created.id

    # Today's prompt: both answer; the answers are revealed; the ETag answers 304.
    today = parsed(daily_prompts_today.sync_detailed(client=ann), 200, DayOut)
    assert today.partner_answer is None
    answered = answers_put.sync_detailed(
        today.date, client=ann, body=AnswerIn(text="The walk by the river.")
    )
    assert parsed(answered, 200, DayOut).partner_answer is None  # hidden until Bo answers
    answers_put.sync_detailed(today.date, client=bo, body=AnswerIn(text="Cooking together."))
    revealed = daily_prompts_today.sync_detailed(client=ann)
    day = parsed(revealed, 200, DayOut)
    assert day.partner_answer is not None and day.partner_answer.text == "Cooking together."
    assert day.revealed_at is not None
    etag = revealed.headers["etag"]
    again = daily_prompts_today.sync_detailed(client=ann, if_none_match=etag)
    assert again.status_code == 304, again.status_code

    # Bo shares a check-in; Ann reflects on it.
    checkin = parsed(
        checkins_create.sync_detailed(
            client=bo, body=CheckInIn(mood=4, note="A good day.", visibility="partner")
        ),
        201,
        CheckInOut,
    )
    reflection = checkins_reflections_create.sync_detailed(
        checkin.id, client=ann, body=CheckInReflectionIn(kind="appreciate", text="Glad to hear.")
    )
    assert parsed(reflection, 201, CheckInReflectionOut).checkin_id == checkin.id

    insights = parsed(insights_get.sync_detailed(client=ann), 200, InsightsOut)
    assert insights.window_days == 30 and len(insights.sharing.partners) == 2

    # Every subscribed event reaches the receiver, signed with the endpoint's secret.
    verifier = Webhook(endpoint.secret)
    deadline = time.monotonic() + 60
    seen: set[str] = set()
    while not seen >= EXPECTED_EVENTS:
        assert time.monotonic() < deadline, f"deliveries seen: {sorted(seen)}"
        time.sleep(0.2)
        with receiver.lock:
            deliveries = list(receiver.deliveries)
        seen = set()
        for headers, body in deliveries:
            event = verifier.verify(body, headers)
            assert isinstance(event, dict)
            seen.add(str(event["type"]))
    forged = dict(deliveries[0][0], **{"webhook-signature": "v1,AAAA"})
    try:
        verifier.verify(deliveries[0][1], forged)
        raise AssertionError("a forged signature was accepted")
    except WebhookVerificationError:
        pass
    receiver.shutdown()
    print(f"python journey: ok ({len(deliveries)} verified deliveries: {sorted(seen)})")


if __name__ == "__main__":
    main(*sys.argv[1:4])
