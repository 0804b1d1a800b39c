"""The dashboard in a real browser (Debian's Chromium through Playwright) on a lab
alliance over HTTPS on loopback: the live feed, search, lift, refusals, JS off."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from shieldwall.decisions.codec import decode_page
from shieldwall.signals.client import HubClient
from tests.ui.browser import chromium, need_chromium, screenshot
from tests.ui.lab import lab_alliance
from tests.ui.test_dashboard import wait_for_head

pytestmark = [pytest.mark.timeout(240)]


@pytest.fixture(autouse=True)
def _chromium() -> None:
    need_chromium()


async def test_the_live_feed_shows_every_new_decision_without_a_reload(tmp_path: Path) -> None:
    async with lab_alliance(tmp_path) as lab, chromium() as context:
        page: Any = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{lab.base}/ui/decisions")
        # The page is live once htmx opened its EventSource.
        await page.wait_for_function("() => window.htmx !== undefined")
        await page.wait_for_timeout(300)
        delays = []
        for i in range(50):
            await lab.ban(f"203.0.113.{i + 1}")
            made = time.monotonic()
            await page.wait_for_selector(f"#d{i + 1}", timeout=10_000)
            delays.append(time.monotonic() - made)
        ids = await page.locator("#decisions tr[id^=d]").evaluate_all("rows => rows.map(r => r.id)")
        # Newest on top, in order: nothing was missed or duplicated.
        assert ids == [f"d{n}" for n in range(50, 0, -1)]
        assert not await page.locator("#none").is_visible()
        delays.sort()
        print(f"live feed: p50 {delays[24] * 1000:.0f} ms, p99 {delays[-1] * 1000:.0f} ms (50)")
        await screenshot(page, "decisions")


async def test_search_finds_an_address_and_its_page_explains_it(tmp_path: Path) -> None:
    async with lab_alliance(tmp_path) as lab, chromium() as context:
        await lab.ban("203.0.113.7")
        await lab.ban("198.51.100.0/24", scenario="http-probe")
        await wait_for_head(lab, 2)
        page: Any = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{lab.base}/ui/decisions")
        await page.fill("input[name=q]", "198.51.100.23")
        await page.click("form.search button")
        await page.wait_for_url("**/ui/decisions?q=198.51.100.23*")
        assert await page.locator("#decisions tr[id^=d]").count() == 1
        await page.click("text=198.51.100.0/24")
        await page.wait_for_selector("#verdict")
        assert "BLOCKED" in await page.inner_text("#verdict")
        assert "http-probe" in await page.inner_text("#explain")
        await screenshot(page, "address")
        await page.goto(f"{lab.base}/ui/")
        assert await page.inner_text("#n-members") == "3"
        await screenshot(page, "members")
        await page.goto(f"{lab.base}/ui/activity")
        assert await page.locator("svg rect").count() >= 1
        await screenshot(page, "activity")


async def test_lift_from_the_page_reaches_the_members(tmp_path: Path) -> None:
    async with lab_alliance(tmp_path) as lab, chromium() as context:
        await lab.ban("203.0.113.7")
        await wait_for_head(lab, 1)
        page: Any = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{lab.base}{await lab.login_path()}")
        await page.wait_for_url("**/ui/decisions")
        assert "operator ops" in await page.inner_text("header")
        await page.click("#d1 button")
        await page.wait_for_selector("#message")
        assert "lifted 203.0.113.7" in await page.inner_text("#message")
        # A member reads the log as it always does: the lift is there for it to apply.
        async with HubClient(lab.alice) as alice:
            for _ in range(100):
                body = (await alice.request("GET", "/v1/decisions?after=0")).content
                decisions = decode_page(body).decisions
                if any(d.action == "lift" and d.target == "203.0.113.7" for d in decisions):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"alice never received the lift: {decisions}")


async def test_a_cross_site_form_cannot_lift_even_with_the_operator_logged_in(
    tmp_path: Path,
) -> None:
    async with lab_alliance(tmp_path) as lab, chromium() as context:
        await lab.ban("203.0.113.7")
        await wait_for_head(lab, 1)
        page: Any = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{lab.base}{await lab.login_path()}")
        await page.wait_for_url("**/ui/decisions")
        # Another site's page posting to the hub with the operator's browser.
        attacker: Any = await context.new_page()  # type: ignore[attr-defined]
        await attacker.set_content(
            f'<form id="f" method="post" action="{lab.base}/ui/lift">'
            '<input name="target" value="203.0.113.7"><input name="csrf" value="guess"></form>'
        )
        async with attacker.expect_navigation():
            await attacker.evaluate("document.getElementById('f').submit()")
        assert "Refused" in await attacker.content()
        await page.goto(f"{lab.base}/ui/address/203.0.113.7")
        assert "BLOCKED" in await page.inner_text("#verdict")


async def test_every_page_is_readable_with_javascript_off(tmp_path: Path) -> None:
    async with lab_alliance(tmp_path) as lab, chromium(javascript=False) as context:
        await lab.ban("203.0.113.7")
        await wait_for_head(lab, 1)
        page: Any = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{lab.base}/ui/decisions")
        assert await page.locator("#d1").count() == 1
        await page.goto(f"{lab.base}/ui/decisions?q=203.0.113.7")
        assert await page.locator("#d1").count() == 1
        for path, text in (("/ui/", "ops"), ("/ui/address/203.0.113.7", "BLOCKED"),
                           ("/ui/activity", "Attacks"), ("/ui/drills", "Drills"),
                           ("/ui/council", "Council"), ("/ui/arsenal", "Arsenal")):
            await page.goto(f"{lab.base}{path}")
            assert text in await page.inner_text("main")


async def test_an_operator_pastes_a_councillors_signature_with_javascript_off(
    tmp_path: Path,
) -> None:
    from tests.ui.test_council_sign import attach, council_with_two_proposals, signed_elsewhere

    alliance, pid, _ = council_with_two_proposals(tmp_path / "c")
    pasted = signed_elsewhere(alliance, pid, "carol")
    async with lab_alliance(tmp_path) as lab, chromium(javascript=False) as context:
        attach(lab, alliance.folder)
        page: Any = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{lab.base}{await lab.login_path()}")
        await page.wait_for_url("**/ui/decisions")
        await page.goto(f"{lab.base}/ui/council")
        await page.fill(f"#sign-{pid} textarea", pasted)
        async with page.expect_navigation():
            await page.click(f"#sign-{pid} button")
        assert "stored carol's signature" in await page.inner_text("#message")
        assert "v1 council 2/2: alice, carol" in await page.inner_text("#records")
    assert "2 of 2 (alice, carol)" in alliance.run("status", str(alliance.folder), pid).output
