"""The account pages in headless Chromium at a phone's size (Playwright driving Debian's
browser): create an account from an app's sign-in, confirm the address from the mail,
sign out, forget the password, reset it from the mail, sign in with the new one. Every page
is screenshotted under the test's tmp dir, must not scroll sideways, must not break its
Content-Security-Policy, and is checked with axe-core (when installed) for serious or
critical violations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import smtp_support
from tests.oauth import conftest as oauth_fixtures
from tests.oauth.conftest import LiveServer
from tests.oauth.flow import authorize_url, pkce_pair
from tests.smtp_support import Inbox, deliver, link_in

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"

try:
    from playwright.async_api import Page, ViewportSize, async_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
    pytest.mark.skipif(async_playwright is None, reason="the playwright package is missing"),
]

live_server = oauth_fixtures.live_server
inbox = smtp_support.inbox


def screenshots(directory: Path) -> int:
    return len(list(directory.glob("*.png")))


class Walk:
    """The page, with a screenshot and checks of every page seen."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.seen: list[str] = []
        self.policy_breaks: list[str] = []
        page.on(
            "console",
            lambda message: (
                self.policy_breaks.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )

    async def check(self, name: str) -> None:
        self.seen.append(name)
        await self.page.screenshot(
            path=str(self.shots / f"{len(self.seen):02d}-{name}.png"), full_page=True
        )
        overflow = await self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px on a phone"
        if AXE.exists():
            await self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
            result: dict[str, Any] = await self.page.evaluate(
                "axe.run(document, {resultTypes: ['violations']})"
            )
            bad = [
                {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert not bad, f"{name}: {json.dumps(bad, indent=1)}"


async def test_sign_up_verify_and_reset_on_a_phone(
    live_server: LiveServer, inbox: Inbox, first_party_client: object, tmp_path: Path
) -> None:
    base = live_server.url
    email = "phone.person@example.org"
    assert async_playwright is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            phone = ViewportSize(width=375, height=740)
            context = await browser.new_context(viewport=phone, is_mobile=True, has_touch=True)
            walk = Walk(await context.new_page(), tmp_path)
            page = walk.page

            await page.goto(base + authorize_url("rapport-mobile", pkce_pair()[1]))
            assert "/oauth/sign-in" in page.url
            await walk.check("sign-in")
            await page.click("text=Create an account")
            await page.wait_for_selector("h1:has-text('Create your Rapport account')")
            await walk.check("sign-up")
            await page.fill("#display_name", "Pat")
            await page.fill("#email", email)
            await page.fill("#password", "pat")
            await page.fill("#password", "a passphrase for pat")
            await page.click("button:has-text('Create account')")
            await page.wait_for_selector("text=Your email address is not confirmed yet")
            assert "/oauth/authorize" in page.url, "back to the app's authorization request"
            await walk.check("consent-after-sign-up")
            await page.click("text=Confirm it")
            await page.wait_for_selector("button:has-text('Send the link again')")
            await walk.check("verify-email-status")

            assert await deliver(live_server.app, inbox) == 1
            await page.goto(base + link_in(inbox.to(email)[0]))
            await walk.check("verify-email")
            await page.click("button:has-text('Confirm my email')")
            await page.wait_for_selector("h1:has-text('Your email address is confirmed')")
            await walk.check("email-confirmed")

            await page.goto(f"{base}/oauth/logout")
            await walk.check("sign-out")
            await page.click("button:has-text('Sign out')")
            await page.wait_for_selector("h1:has-text('You are signed out')")

            await page.goto(f"{base}/oauth/sign-in")
            await page.click("text=Forgot your password?")
            await page.wait_for_selector("h1:has-text('Forgot your password?')")
            await walk.check("forgot-password")
            await page.fill("#email", email)
            await page.click("button:has-text('Send the link')")
            await page.wait_for_selector("h1:has-text('Check your email')")
            await walk.check("check-your-email")

            assert await deliver(live_server.app, inbox) == 1
            await page.goto(base + link_in(inbox.to(email)[1]))
            await walk.check("reset-password")
            await page.fill("#password", "a new passphrase for pat")
            await page.fill("#confirm", "a different one entirely")
            await page.click("button:has-text('Change password')")
            await page.wait_for_selector("text=The two passwords are not the same.")
            await walk.check("reset-password-mismatch")
            await page.fill("#password", "a new passphrase for pat")
            await page.fill("#confirm", "a new passphrase for pat")
            await page.click("button:has-text('Change password')")
            await page.wait_for_selector("h1:has-text('Your password is changed')")
            await walk.check("password-changed")

            await page.click("text=Sign in with your new password")
            await page.fill("#email", email)
            await page.fill("#password", "a new passphrase for pat")
            await page.click("button:has-text('Sign in')")
            await page.wait_for_selector("h1:has-text('You are signed in')")
            await walk.check("signed-in")
            assert not walk.policy_breaks, walk.policy_breaks
        finally:
            await browser.close()
    assert screenshots(tmp_path) == len(walk.seen) == 13
