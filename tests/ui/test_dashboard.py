"""The dashboard over real HTTPS on a lab alliance, without a browser: what each page
shows, search, who may look and who may act (hostile requests included)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from shieldwall.hub.ledger.storage import DecisionRecord, WriteGroup
from tests.integration.hub_harness import hub_context
from tests.ui.lab import Lab, lab_alliance

pytestmark = pytest.mark.timeout(120)


async def wait_for_head(lab: Lab, head: int) -> None:
    for _ in range(200):
        if hub_context(lab.server).feed.head >= head:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the hub never reached head {head}")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def operator_session(lab: Lab, client: httpx.AsyncClient) -> str:
    """Log the client in as the operator; returns the session's CSRF token."""
    response = await client.get(await lab.login_path())
    assert response.status_code == 303 and "shieldwall_ui" in response.cookies
    page = await client.get("/ui/decisions")
    return csrf_of(page.text)


async def test_the_pages_show_members_decisions_and_an_address_with_its_evidence(
    tmp_path: Path,
) -> None:
    async with lab_alliance(tmp_path) as lab:
        await lab.ban("203.0.113.7")
        await lab.ban("198.51.100.0/24", scenario="http-probe")
        await wait_for_head(lab, 2)
        async with lab.browser_client() as client:
            members = (await client.get("/ui/")).text
            for name in ("ops", "alice", "bob"):
                assert f"<td>{name}</td>" in members
            decisions = await client.get("/ui/decisions")
            assert decisions.status_code == 200
            assert "203.0.113.7" in decisions.text and "198.51.100.0/24" in decisions.text
            assert 'sse-connect="/ui/live?after=2"' in decisions.text
            # Read-only without a session: no lift button, no token.
            assert 'action="/ui/lift"' not in decisions.text
            address = (await client.get("/ui/address/203.0.113.7")).text
            assert "203.0.113.7 is BLOCKED" in address and "ops" in address
            covered = (await client.get("/ui/address/198.51.100.9")).text
            assert "198.51.100.9 is BLOCKED" in covered and "198.51.100.0/24" in covered
            free = (await client.get("/ui/address/192.0.2.1")).text
            assert "192.0.2.1 is not blocked" in free
            activity = (await client.get("/ui/activity")).text
            assert "<svg" in activity and "http-probe" in activity
            for room in ("drills", "council", "arsenal"):
                assert (await client.get(f"/ui/{room}")).status_code == 200


async def test_search_finds_an_address_a_covering_range_a_scenario_and_a_member(
    tmp_path: Path,
) -> None:
    async with lab_alliance(tmp_path) as lab:
        await lab.ban("203.0.113.7")
        await lab.ban("198.51.100.0/24", scenario="http-probe")
        await wait_for_head(lab, 2)
        async with lab.browser_client() as client:
            by_address = (await client.get("/ui/decisions", params={"q": "198.51.100.77"})).text
            assert "198.51.100.0/24" in by_address and "203.0.113.7" not in by_address
            by_scenario = (await client.get("/ui/decisions", params={"scenario": "manual"})).text
            assert "203.0.113.7" in by_scenario and "198.51.100.0/24" not in by_scenario
            nobody = (await client.get("/ui/decisions", params={"member": "alice"})).text
            assert 'id="none"' in nobody
            bad = (await client.get("/ui/decisions", params={"q": "not-an-ip"})).text
            assert "not an address or CIDR" in bad
            hostile = await client.get("/ui/address/<script>alert(1)</script>")
            assert hostile.status_code == 400 and "<script>alert" not in hostile.text


async def test_a_hundred_thousand_decisions_are_paginated_never_loaded_whole(
    tmp_path: Path,
) -> None:
    async with lab_alliance(tmp_path) as lab:
        ledger = hub_context(lab.server).ledger
        records = [
            DecisionRecord("block", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 4e9,
                           "ssh-bruteforce", "alice", 1.0)
            for i in range(100_000)
        ]
        for start in range(0, len(records), 10_000):
            await ledger.write(WriteGroup(decisions=records[start:start + 10_000]))
        async with lab.browser_client() as client:
            first = (await client.get("/ui/decisions")).text
            assert first.count("<tr id=\"d") == 100
            assert 'id="d100000"' in first and 'id="d99901"' in first
            older = re.search(r'id="older" href="([^"]+)"', first)
            assert older is not None
            second = (await client.get(older.group(1).replace("&amp;", "&"))).text
            assert 'id="d99900"' in second and 'id="d99801"' in second
            assert 'id="d99901"' not in second


async def test_lift_needs_an_operator_session_and_its_csrf_token(tmp_path: Path) -> None:
    async with lab_alliance(tmp_path) as lab:
        await lab.ban("203.0.113.7")
        await wait_for_head(lab, 1)
        async with lab.browser_client() as client:
            anonymous = await client.post("/ui/lift", data={"target": "203.0.113.7"})
            assert anonymous.status_code == 403 and "no operator session" in anonymous.text
            csrf = await operator_session(lab, client)
            forged = await client.post("/ui/lift", data={"target": "203.0.113.7", "csrf": "x" * 32})
            assert forged.status_code == 403 and "CSRF" in forged.text
            cross = await client.post(
                "/ui/lift", data={"target": "203.0.113.7", "csrf": csrf},
                headers={"origin": "https://evil.example"},
            )
            assert cross.status_code == 403 and "cross-origin" in cross.text
            # Nothing refused was done: still blocked.
            assert 'id="verdict" class="block"' in (await client.get("/ui/address/203.0.113.7")).text
            done = await client.post("/ui/lift", data={"target": "203.0.113.7", "csrf": csrf})
            assert done.status_code == 303 and "lifted" in done.headers["location"]
        await wait_for_head(lab, 2)
        async with lab.browser_client() as client:
            assert "203.0.113.7 is not blocked" in (await client.get("/ui/address/203.0.113.7")).text


async def test_a_login_link_works_once_and_only_an_operator_gets_one(tmp_path: Path) -> None:
    from shieldwall.errors import SignalError
    from shieldwall.signals.client import HubClient

    async with lab_alliance(tmp_path) as lab:
        path = await lab.login_path()
        async with lab.browser_client() as client:
            assert (await client.get(path)).status_code == 303
        async with lab.browser_client() as client:
            again = await client.get(path)
            assert again.status_code == 403 and "unknown, used or expired" in again.text
        # The CLI an operator runs on its member host prints the link.
        from click.testing import CliRunner

        from shieldwall.cli.main import cli

        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["ui", "login", "--data", str(lab.ops.data_dir)]
        )
        assert result.exit_code == 0, result.output
        printed = result.stdout.strip()
        assert printed.startswith(f"https://{lab.config.listen}/ui/login?code=")
        async with lab.browser_client() as client:
            assert (await client.get(printed.removeprefix(lab.base))).status_code == 303
        alice_cli = await asyncio.to_thread(
            CliRunner().invoke, cli, ["ui", "login", "--data", str(lab.alice.data_dir)]
        )
        assert alice_cli.exit_code != 0 and "not an operator" in alice_cli.output
        async with HubClient(lab.alice) as alice:
            with pytest.raises(SignalError, match="not an operator"):
                await alice.request("POST", "/ui/session", b"{}")
        async with lab.browser_client() as client:
            unsigned = await client.post("/ui/session", content=b"{}")
            assert unsigned.status_code in (401, 403)


async def test_the_dashboard_answers_loopback_only_unless_configured(tmp_path: Path) -> None:
    from shieldwall.hub.app import create_app
    from shieldwall.hub.config import load_hub_config

    async with lab_alliance(tmp_path) as lab:
        app = create_app(lab.config)
        # The app in-process, as seen from another host (no lifespan: the gate comes first).
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="https://hub") as client:
            for path in ("/ui/", "/ui/decisions", "/ui/static/htmx.min.js", "/ui/live"):
                refused = await client.get(path)
                assert refused.status_code == 403 and "ui_allow" in refused.text
        assert app.state.ui.allows("127.0.0.1") and app.state.ui.allows("::1")
        assert not app.state.ui.allows("192.0.2.10") and not app.state.ui.allows(None)
        assert not app.state.ui.allows("not-an-address")
        hub_toml = lab.config.data_dir / "hub.toml"
        hub_toml.write_text(hub_toml.read_text() + 'ui_allow = ["192.0.2.0/24"]\n')
        widened = create_app(load_hub_config(lab.config.data_dir))
        assert widened.state.ui.allows("192.0.2.10") and widened.state.ui.allows("127.0.0.1")
        assert not widened.state.ui.allows("198.51.100.1")


async def test_members_show_the_rosters_readiness_and_each_checks_reason(tmp_path: Path) -> None:
    from shieldwall.hub.roster import Entry
    from shieldwall.readiness.verdict import Check

    async with lab_alliance(tmp_path) as lab:
        app = lab.server.config.app
        checks = (Check("R1", "hub link", "ok", "stream connected"),
                  Check("R3", "enforcer", "failing", "table inet shieldwall is missing: <restart>"))
        # One group through the writer: it has read the membership (join times) since.
        await lab.ban("203.0.113.7")
        await wait_for_head(lab, 1)
        app.state.roster.keeper.roster["alice"] = Entry(
            member="alice", state="failing", since=1.0, reason="R3", checks=checks, seen=1.0)
        async with lab.browser_client() as client:
            html = (await client.get("/ui/")).text
        row = html[html.index("<td>alice</td>"):]
        row = row[: row.index("</tr>")]
        assert 'class="state-failing">failing' in row
        assert 'title="enforcer: table inet shieldwall is missing: &lt;restart&gt;">R3' in row
        assert 'class="state-ok" title="hub link: stream connected">R1' in row
        # Trust: every member of a fresh alliance is a founder at full weight.
        assert '<td class="trust">1.00</td>' in row


async def test_the_arsenal_page_shows_each_rules_measured_figures(tmp_path: Path) -> None:
    import time

    from shieldwall.arsenal.figures import Sighting, Usage
    from shieldwall.arsenal.measure import sighting_entries

    async with lab_alliance(tmp_path) as lab:
        ledger = hub_context(lab.server).ledger
        now = time.time()
        rule = "sshd-slow@1"
        for member, at in (("alice", now - 60), ("bob", now - 30)):
            await ledger.journal_append(sighting_entries(
                member, [Sighting(rule, "ssh-slow", "203.0.113.9", at, "shadow")],
                [Usage(rule, 2_000_000, 1.5)], now))
        async with lab.browser_client() as client:
            html = (await client.get("/ui/arsenal")).text
        row = html[html.index(f"<td>{rule}</td>"):]
        cells = re.findall(r"<td>([^<]*)</td>", row[: row.index("</tr>")])
        # rule, live, shadow, targets, members, corroborated, earliness, protected, lifted,
        # disputes, CPU per million lines (3 s over 4M lines)
        assert cells[:6] == [rule, "0", "2", "1", "2", "100%"]
        assert cells[7:] == ["0", "0", "0", "0.75 s"]


async def test_an_operator_bans_from_the_page_under_the_policys_protections(tmp_path: Path) -> None:
    import time
    import urllib.parse

    async with lab_alliance(tmp_path) as lab:
        async with lab.browser_client() as client:
            anonymous = await client.post("/ui/ban", data={"target": "203.0.113.99"})
            assert anonymous.status_code == 403
            csrf = await operator_session(lab, client)
            assert 'id="ban"' in (await client.get("/ui/decisions")).text
            done = await client.post("/ui/ban", data={"target": "203.0.113.99", "duration": "2h",
                                                      "csrf": csrf})
            assert done.status_code == 303
            assert "banned 203.0.113.99" in urllib.parse.unquote(done.headers["location"])
            # The hub's own address is protected: the policy refuses, nothing is written.
            own = await client.post("/ui/ban", data={"target": "127.0.0.1", "csrf": csrf})
            assert "could not ban 127.0.0.1" in urllib.parse.unquote(own.headers["location"])
            bad = await client.post("/ui/ban", data={"target": "203.0.113.98", "duration": "soon",
                                                     "csrf": csrf})
            assert "could not ban 203.0.113.98" in urllib.parse.unquote(bad.headers["location"])
        (decision,) = await hub_context(lab.server).ledger.decisions_after(0, 10)
        assert (decision.target, decision.origin, decision.scenario) == ("203.0.113.99", "operator", "manual")
        assert abs(decision.until - (time.time() + 7200)) < 60
