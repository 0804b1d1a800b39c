"""Debian's Chromium driven by Playwright (``/usr/bin/chromium``; no browser download)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
#: Where the tests write the README's screenshots when asked to (committed when they change).
SCREENSHOTS = os.environ.get("SHIELDWALL_SCREENSHOTS", "")


def need_chromium() -> None:
    """Skip (with the fix) where Chromium is not installed; in CI (which installs it)
    its absence is a failure, never a skip."""
    if shutil.which(CHROMIUM) is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("SHIELDWALL_REQUIRE_ROOT_TESTS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@contextlib.asynccontextmanager
async def chromium(javascript: bool = True) -> AsyncIterator[object]:
    """A fresh browser context (accepting the hub's self-signed certificate)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            context = await browser.new_context(
                ignore_https_errors=True, java_script_enabled=javascript,
                viewport={"width": 1280, "height": 800},
            )
            yield context
        finally:
            await browser.close()


async def screenshot(page: object, name: str) -> None:
    """Save ``name``.png for the README when SHIELDWALL_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
