"""A curator's whole journey through the console in headless Chromium (Playwright driving
Debian's browser, never one it downloads): sign in, draft a library, add a prompt, submit,
return with a comment, submit again, compare, publish, draft a translation of the prompt;
then a member gets that prompt as the day's prompt. Every page is screenshotted under the
test's tmp dir and checked with axe-core for serious or critical violations; no page may
break its Content-Security-Policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.models.users import Role
from tests.conftest import MakeUser
from tests.factories import pair
from tests.oauth import conftest as oauth_fixtures
from tests.oauth.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
FOCUS_OUTLINE = "getComputedStyle(document.activeElement).outlineStyle"
PROMPT = "What small thing did your partner do this week that you loved?"
TRANSLATED = "Welche kleine Sache hat dein Partner diese Woche getan, die du geliebt hast?"

try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
    pytest.mark.skipif(async_playwright is None, reason="the playwright package is missing"),
    pytest.mark.skipif(
        not AXE.exists(), reason=f"{AXE} is missing: run `npm ci --prefix tests/browser`"
    ),
]

live_server = oauth_fixtures.live_server


def screenshots(directory: Path) -> int:
    return len(list(directory.glob("*.png")))


def axe_source() -> str:
    return AXE.read_text(encoding="utf-8") + "\n;0"


class Journey:
    """The browser page, with a screenshot and an accessibility check of each page seen."""

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
        await self.page.evaluate(axe_source())
        result: dict[str, Any] = await self.page.evaluate(
            "axe.run(document, {resultTypes: ['violations']})"
        )
        bad = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{name}: {json.dumps(bad, indent=1)}"


async def test_a_curator_publishes_what_a_member_then_receives(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    curator = await make_user(role=Role.curator, display_name="Cleo Curator")
    assert async_playwright is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            journey = Journey(page, tmp_path)
            base = live_server.url

            await page.goto(f"{base}/console")
            assert "/oauth/sign-in" in page.url
            await journey.check("sign-in")
            await page.fill("input[name=email]", curator.user.email)
            await page.fill("input[name=password]", curator.password)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/console")
            await journey.check("console")

            await page.fill("#new-slug", "loved-this-week")
            await page.fill("#new-title", "Loved this week")
            await page.fill("#new-description", "Noticing the small things.")
            await page.click("text=Create draft library")
            await page.wait_for_selector("h1:has-text('Loved this week')")
            library_url = page.url
            await journey.check("library-draft")

            await page.fill("#prompt-text", PROMPT)
            await page.select_option("#prompt-category", "share")
            await page.fill("#prompt-depth", "1")
            await page.click("text=Add prompt to the draft")
            await page.wait_for_selector(f"text={PROMPT}")
            await page.click("text=Submit for review")
            await page.wait_for_selector(".status-review")
            await journey.check("library-review")

            await page.goto(f"{base}/console")
            await page.wait_for_selector("#queue-heading")
            assert "Loved this week" in await page.inner_text(
                "section[aria-labelledby=queue-heading]"
            )
            await journey.check("review-queue")

            # Four eyes: the author cannot review; a second curator, in a browser of their own,
            # returns it with a comment and later publishes it.
            await page.goto(library_url)
            assert "another curator or an admin" in await page.inner_text("#main")
            assert await page.locator("button:has-text('Publish')").count() == 0
            reviewer = await make_user(role=Role.curator, display_name="Rui Reviewer")
            review_page = await (await browser.new_context()).new_page()
            as_reviewer = Journey(review_page, tmp_path)
            await review_page.goto(library_url)
            await review_page.fill("input[name=email]", reviewer.user.email)
            await review_page.fill("input[name=password]", reviewer.password)
            await review_page.click("button[type=submit]")
            await review_page.wait_for_selector("h1:has-text('Loved this week')")
            await review_page.fill("#comment", "Lovely; one more look at the wording.")
            await review_page.click("text=Return to draft")
            await review_page.wait_for_selector(".status-draft")
            await page.goto(library_url)
            await page.click("text=Submit for review")
            await page.wait_for_selector(".status-review")

            await page.click("text=Compare the draft with the published version")
            await page.wait_for_selector("table.diff")
            assert "— new —" in await page.inner_text("table.diff")
            await journey.check("diff")

            await review_page.goto(library_url)
            await review_page.click("button:has-text('Publish')")
            await review_page.wait_for_selector(".status-published")
            assert "Version 1" in await review_page.inner_text("#main")
            as_reviewer.seen = list(journey.seen)
            await as_reviewer.check("library-published")
            journey.seen = list(as_reviewer.seen)

            await page.goto(f"{base}/console/audit?entity_type=library")
            log = await page.inner_text("table")
            assert "library.published" in log and "one more look" in log
            await journey.check("audit")

            await page.goto(f"{base}/console/import")
            await journey.check("import")

            await page.goto(library_url)
            await page.click(f"a:has-text('{PROMPT}')")
            await page.wait_for_selector("h1:has-text('Edit a prompt')")
            await journey.check("prompt-editor")
            await page.select_option("#new-translation-language", "de")
            await page.fill("#new-translation-text", TRANSLATED)
            await page.click("text=Save the draft translation")
            await page.wait_for_selector("text=Drop the de draft")
            assert TRANSLATED in await page.inner_text("#translations ~ article")
            await journey.check("prompt-translations")

            await page.goto(f"{base}/console")
            await page.fill("#template-slug", "after-a-slip")
            await page.fill("#template-title", "After a slip")
            await page.fill("#template-description", "For a promise that was broken.")
            await page.click("text=Create draft template")
            await page.wait_for_selector("h1:has-text('After a slip')")
            template_url = page.url
            await journey.check("template-draft")
            await page.fill("#phase-0-steps", "involved | Say plainly what happened")
            await page.fill("#phase-1-steps", "both | Name what each of you needed")
            await page.fill("#phase-2-agreements", "We check in every Sunday.")
            await page.click("text=Save the draft")
            await page.wait_for_selector("#phase-0-steps")
            assert "Say plainly what happened" in await page.input_value("#phase-0-steps")
            await page.click("text=Submit for review")
            await page.wait_for_selector(".status-review")
            await journey.check("template-review")

            # Keyboard first: the first Tab reaches the skip link, which leads to the content.
            await page.keyboard.press("Tab")
            assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
            for _ in range(3):  # every focused control shows where the focus is
                await page.keyboard.press("Tab")
                outline = await page.evaluate(FOCUS_OUTLINE)
                assert outline not in ("none", ""), outline
            # At 200 % zoom (half the CSS width) nothing needs a sideways scroll.
            await page.set_viewport_size({"width": 550, "height": 900})
            pages = (library_url, template_url, f"{template_url}/diff", f"{library_url}/diff")
            for path in ("/console", "/console/audit", *(url.removeprefix(base) for url in pages)):
                await page.goto(base + path)
                overflow = await page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 200 %"
            await journey.check("console-at-200-percent")
            assert not journey.policy_breaks, journey.policy_breaks

            # An admin, in a browser of their own: publishes the template, registers a client.
            admin = await make_user(role=Role.admin)
            admin_page = await (await browser.new_context()).new_page()
            as_admin = Journey(admin_page, tmp_path)
            as_admin.seen = list(journey.seen)
            await admin_page.goto(template_url)
            await admin_page.fill("input[name=email]", admin.user.email)
            await admin_page.fill("input[name=password]", admin.password)
            await admin_page.click("button[type=submit]")
            await admin_page.wait_for_selector("h1:has-text('After a slip')")
            await admin_page.click("button:has-text('Publish')")
            await admin_page.wait_for_selector(".status-published")
            assert "Version 1" in await admin_page.inner_text("#main")
            await as_admin.check("template-published")
            await admin_page.fill("#edit-title", "After a slip, gently")
            await admin_page.click("text=Save the draft")
            await admin_page.wait_for_selector(".status-draft")
            await admin_page.click("text=Compare the draft with the published version")
            await admin_page.wait_for_selector("table.diff")
            assert "After a slip, gently" in await admin_page.inner_text("table.diff")
            await as_admin.check("template-diff")

            await admin_page.goto(f"{base}/console/clients")
            await admin_page.wait_for_selector("h1:has-text('OAuth clients')")
            await as_admin.check("oauth-clients")
            await admin_page.fill("#client-name", "Evening sync")
            await admin_page.fill("#client-redirect-uris", "https://sync.example/callback")
            await admin_page.check("input[value='profile']")
            await admin_page.check("#client-confidential")
            await admin_page.click("text=Register the client")
            await admin_page.wait_for_selector("pre.secret")
            assert len(await admin_page.inner_text("pre.secret")) > 20
            await as_admin.check("client-registered")
            await admin_page.goto(f"{base}/console/clients")
            await admin_page.click("button[aria-label='Revoke Evening sync']")
            await admin_page.wait_for_selector("td:has-text('revoked')")
            await as_admin.check("client-revoked")
            journey.seen = as_admin.seen
            assert not as_admin.policy_breaks, as_admin.policy_breaks
        finally:
            await browser.close()

    # The member's side: a couple gets the published prompt as the day's prompt.
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    today = await client.get(
        "/v1/couples/me/prompts/today", headers=ann.headers("couple:read", "prompts:read")
    )
    assert today.status_code == 200, today.text
    assert today.json()["prompt"]["text"] == PROMPT
    assert screenshots(tmp_path) == len(journey.seen)
