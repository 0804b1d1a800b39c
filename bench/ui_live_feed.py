"""Dashboard live-feed benchmark: a decision made -> its row on an open page.

Starts a real hub over HTTPS on loopback (in this process, as ``shieldwall up``
does), joins an operator member, opens ``/ui/decisions`` in Debian's Chromium
(Playwright, ``/usr/bin/chromium``) and makes N decisions one after another with
the operator's signed bans. For each, the delay is from the hub's acknowledgement
of the ban (the decision is committed) to the row being in the page's DOM.
Prints p50 / p99 / max and the ratio to the goal (p99 <= 1 s). Asserts nothing.

Run: python bench/ui_live_feed.py [--decisions 200]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from pathlib import Path

from shieldwall.hub.config import load_hub_config
from shieldwall.hub.create import init_hub, invite
from shieldwall.hub.server import make_server
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.signal import Signal

GOAL_P99 = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(count: int) -> list[float]:
    from playwright.async_api import async_playwright

    root = Path(tempfile.mkdtemp(prefix="sw-ui-bench-"))
    hub_dir = root / "hub"
    await asyncio.to_thread(
        init_hub, hub_dir, listen=f"127.0.0.1:{free_port()}", allow_reserved=True
    )
    toml = hub_dir / "hub.toml"
    toml.write_text(toml.read_text() + '\noperators = ["ops"]\n')
    config = load_hub_config(hub_dir)
    server = make_server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        ops = await join(await invite(config, "ops", 600, time.time()), root / "ops")
        async with async_playwright() as p, HubClient(ops) as client:
            browser = await p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
            )
            page = await (await browser.new_context(ignore_https_errors=True)).new_page()
            await page.goto(f"https://{config.listen}/ui/decisions")
            await page.wait_for_function("() => window.htmx !== undefined")
            await page.wait_for_timeout(500)
            delays = []
            for i in range(count):
                target = f"198.51.100.{i % 250 + 1}" if i < 250 else f"203.0.113.{i % 250 + 1}"
                await client.send([Signal(kind="ban", target=target, scenario="manual",
                                          duration=3600.0)])
                made = time.monotonic()
                await page.wait_for_selector(f"#d{i + 1}", state="attached", timeout=10_000)
                delays.append(time.monotonic() - made)
            await browser.close()
        return delays
    finally:
        server.should_exit = True
        await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    delays = sorted(asyncio.run(run(min(args.decisions, 500))))
    p50 = delays[len(delays) // 2]
    p99 = delays[max(0, int(len(delays) * 0.99) - 1)]
    print(f"dashboard live feed, {len(delays)} decisions, decision committed -> row on the page")
    print(f"  p50 {p50 * 1000:.0f} ms  p99 {p99 * 1000:.0f} ms  max {delays[-1] * 1000:.0f} ms")
    print(f"  goal p99 <= {GOAL_P99 * 1000:.0f} ms: {GOAL_P99 / p99:.1f}x under the goal"
          if p99 <= GOAL_P99 else f"  goal p99 <= {GOAL_P99 * 1000:.0f} ms: MISSED")


if __name__ == "__main__":
    main()
