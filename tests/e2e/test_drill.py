"""Drills end to end: a real hub and three real agents enforcing with nftables in namespaces.

One lab for the module (hub, members a, b, c): ``shieldwall drill run`` orders a
drill; each agent feeds drill lines through its real detection, signals, receives
the drill decision over its real stream, writes the element into its own
``inet shieldwall`` table, reads it back and lifts it. Faults are real too: a
deleted table, a link set down. A drill never sends a packet anywhere: it only
writes (and removes) nft elements for documentation addresses.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
from collections.abc import Iterator

import msgspec
import pytest

from shieldwall.drills.journal import put_order, report_of
from shieldwall.drills.order import OrderBody, sign_order
from shieldwall.drills.report import DrillReport
from shieldwall.hub.config import load_hub_config
from shieldwall.hub.create import with_ledger
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.hub.ledger.storage import Ledger
from shieldwall.lab.alliance import SHIELDWALL, Alliance
from shieldwall.lab.drill import drill_step
from shieldwall.lab.runner import Lab
from shieldwall.lab.topology import plan_lab
from tests.conftest import require_root

pytestmark = pytest.mark.root

TOOLS = ("ip", "nft", "/usr/sbin/sshd", "ssh-keygen")
MEMBERS = ("a", "b", "c")


@pytest.fixture(scope="module")
def alliance() -> Iterator[Alliance]:
    require_root(*TOOLS)
    topology = plan_lab(["hub", *MEMBERS, "attacker"], "dr" + secrets.token_hex(3))
    with Lab(topology) as lab:
        alliance = Alliance(lab, MEMBERS)
        alliance.build()
        for name in MEMBERS:
            alliance.wait_note(name, "agent.start", timeout=20)
        yield alliance


def drill_run(alliance: Alliance, *args: str) -> tuple[int, DrillReport]:
    result = subprocess.run(
        [*SHIELDWALL, "drill", "run", "--data", str(alliance.hub_dir), "--json", *args],
        capture_output=True, text=True, timeout=200, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, msgspec.json.decode(result.stdout, type=DrillReport)


def stage_oks(report: DrillReport, member: str) -> dict[str, bool | None]:
    row = report.member(member)
    assert row is not None
    return {s.stage: s.ok for s in row.stages}


def test_a_drill_passes_on_every_member_with_stage_timings_and_is_lifted(
    alliance: Alliance,
) -> None:
    code, report = drill_run(alliance, "--target", "192.0.2.44")
    assert code == 0 and report.passed, report
    assert report.decision > 0 and report.lift > report.decision
    for name in MEMBERS:
        row = report.member(name)
        assert row is not None and row.passed
        assert all(s.ok and s.latency is not None for s in row.stages), row
        assert row.detect_to_block is not None
        assert not alliance.blocks(name, "192.0.2.44")  # lifted everywhere
    assert report.p50 is not None and report.p99 is not None and report.on_all is not None
    drills = [d for d in alliance.decisions() if d.drill == report.id]
    assert [(d.action, d.target) for d in drills] == [("block", "192.0.2.44"),
                                                       ("lift", "192.0.2.44")]
    shown = subprocess.run([*SHIELDWALL, "drill", "report", "--data", str(alliance.hub_dir),
                            report.id], capture_output=True, text=True, timeout=60, check=True)
    assert f"drill {report.id} on 192.0.2.44: PASSED" in shown.stdout


def test_the_demo_drill_step_shows_a_passing_report_across_the_lab(alliance: Alliance) -> None:
    shown: list[str] = []
    report = drill_step(alliance, shown.append)
    assert report.passed and report.target == "203.0.113.77"
    text = "\n".join(shown)
    assert f"drill {report.id} on 203.0.113.77: PASSED" in text
    for name in MEMBERS:
        assert any(line.strip().startswith(name) and line.rstrip().endswith("pass")
                   for line in shown), text


def test_a_drill_naming_a_real_address_is_refused_by_every_member(alliance: Alliance) -> None:
    # A hub (or a tool with its key) gone wrong: a properly signed order on 8.8.8.8.
    config = load_hub_config(alliance.hub_dir)
    seed = (config.data_dir / IDENTITY_FILE).read_bytes()
    body = OrderBody(id=f"drill-{secrets.token_hex(6)}", target="8.8.8.8", issued=int(time.time()),
                     ttl=60, members=MEMBERS)

    async def order_and_wait(ledger: Ledger) -> DrillReport | None:
        await put_order(ledger, sign_order(seed, body), time.time())
        for _ in range(300):
            found = await report_of(ledger, body.id)
            if found is not None:
                return found
            await asyncio.sleep(0.1)
        return None

    report = asyncio.run(with_ledger(config, order_and_wait))
    assert report is not None and not report.passed
    assert "outside the documentation ranges" in report.aborted
    for name in MEMBERS:
        row = report.member(name)
        assert row is not None and row.stages[0].stage == "accept"
        assert row.stages[0].ok is False and row.stages[0].detail.startswith("target:"), row
        assert not alliance.blocks(name, "8.8.8.8")
        refusals = [n for n in alliance.notes(name) if n.get("event") == "drill.refused"]
        assert any(n["drill"] == body.id and n["reason"] == "target" for n in refusals)
    assert not [d for d in alliance.decisions() if d.drill == body.id]


def test_a_member_whose_table_was_deleted_fails_the_enforce_stage(alliance: Alliance) -> None:
    alliance.lab.run("b", ["nft", "delete", "table", "inet", "shieldwall"])
    code, report = drill_run(alliance, "--target", "198.51.100.9")
    assert code == 1 and not report.passed
    oks = stage_oks(report, "b")
    assert oks["push"] is True and oks["enforce"] is False
    row = report.member("b")
    assert row is not None and "table inet shieldwall" in row.why, row.why
    for name in ("a", "c"):
        assert all(stage_oks(report, name).values()), report.member(name)


def test_a_member_whose_link_is_down_fails_the_push_stage(alliance: Alliance) -> None:
    switch, port = alliance.lab.topology.switch, alliance.members["c"].node.switch_port
    subprocess.run(["ip", "-n", switch, "link", "set", port, "down"], check=True)
    try:
        code, report = drill_run(alliance, "--target", "203.0.113.5")
    finally:
        subprocess.run(["ip", "-n", switch, "link", "set", port, "up"], check=True)
    assert code == 1 and not report.passed
    assert stage_oks(report, "c")["push"] is False
    row = report.member("c")
    assert row is not None and row.why.startswith("push:")
    assert "c: push stage over its limit" in report.aborted
    for name in ("a", "b"):
        assert stage_oks(report, name)["enforce"] is True
        assert not alliance.blocks(name, "203.0.113.5")  # the abort lifted it
