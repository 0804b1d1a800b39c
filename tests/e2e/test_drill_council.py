"""Drills under a council: its chair orders them; the hub and every member refuse anyone else.

Real parts: the hub (TLS, SQLite ledger) under a council founded and attached through
the `shieldwall council` CLI, members joined with tokens naming the charter, real agent
runtimes (in-memory enforcers: the nftables path of drills is tests/e2e/test_drill.py),
`shieldwall drill` run as a process. Hostile orders are written into the hub's journal
as a tool holding the hub's key (or a councillor's) would.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from pathlib import Path

import msgspec

from shieldwall.drills.journal import put_order, report_of
from shieldwall.drills.order import DrillOrder, OrderBody, sign_order
from shieldwall.drills.report import DrillReport
from shieldwall.governance import store
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.hub.ledger.storage import Ledger
from tests.e2e.test_council import Alliance, alliance, notes
from tests.integration.hub_harness import ledger_of, running_hub
from tests.integration.test_agent_hub import Member, running

__all__ = ["alliance"]  # the fixture, from tests/e2e/test_council.py
SHIELDWALL = [sys.executable, "-m", "shieldwall.cli.main"]


async def shieldwall(*argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *SHIELDWALL, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 200)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def body(target: str, issued: float | None = None) -> OrderBody:
    return OrderBody(id=f"drill-{secrets.token_hex(6)}", target=target,
                     issued=int(issued or time.time()), ttl=60, members=("a", "b"),
                     issuer="chair")


async def conducted(ledger: Ledger, order: DrillOrder) -> DrillReport:
    await put_order(ledger, order, time.time())
    for _ in range(400):
        found = await report_of(ledger, order.body.id)
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no report for {order.body.id}")


def refused_by_all(report: DrillReport, members: tuple[Member, ...], expected: str) -> None:
    assert not report.passed and report.decision == 0, report
    assert report.aborted.startswith("refused by the hub:") and expected in report.aborted, report
    for name, member in zip(("a", "b"), members, strict=True):
        row = report.member(name)
        assert row is not None and row.stages[0].stage == "accept" and row.stages[0].ok is False
        assert row.stages[0].detail.startswith("chair:") and expected in row.stages[0].detail, row
        assert any(n["drill"] == report.id and n["reason"] == "chair"
                   for n in notes(member, "drill.refused"))
        assert report.target not in member.blocked()


async def test_the_chair_orders_a_drill_and_the_hub_key_a_councillor_and_a_former_chair_are_refused(
        alliance: Alliance, tmp_path: Path) -> None:
    hub = str(alliance.hub_dir)
    async with running_hub(alliance.config):
        a, b = await alliance.members("a", "b")
        async with running(a), running(b):
            # The operator's `drill run` under a council: refused before anything is ordered.
            code, _, err = await shieldwall("drill", "run", "--data", hub, "--json")
            assert code != 0 and "signed by the hub's key" in err and "alice chairs now" in err
            # The chair (alice: first in the rotation, which starts at founding) orders.
            code, out, err = await shieldwall("drill", "run", "--data", hub, "--json", "--key",
                                              alliance.key("alice"), "--target", "203.0.113.44")
            report = msgspec.json.decode(out, type=DrillReport)
            assert code == 0 and report.passed, (report, err)
            assert report.issuer == "chair alice" and report.decision > 0 and report.lift > 0
            assert all(row.passed and row.detect_to_block is not None for row in report.members)
            # Signed offline by the chair, run on the hub within its TTL.
            order_file = tmp_path / "drill.json"
            code, _, err = await shieldwall("drill", "sign", "--key", alliance.key("alice"),
                                            "--members", "a,b", "--target", "198.51.100.3",
                                            "--out", str(order_file))
            assert code == 0, err
            code, out, err = await shieldwall("drill", "run", "--data", hub, "--json",
                                              "--order", str(order_file))
            assert code == 0 and msgspec.json.decode(out, type=DrillReport).passed, err
            hub_seed = (alliance.hub_dir / IDENTITY_FILE).read_bytes()
            alice_signed = sign_order(store.load_key(Path(alliance.key("alice"))), body("203.0.113.61"))
            async with ledger_of(alliance.config) as ledger:
                report = await conducted(ledger, sign_order(hub_seed, body("203.0.113.60")))
                refused_by_all(report, (a, b), "hub's key")
                carol = store.load_key(Path(alliance.key("carol")))
                report = await conducted(ledger, sign_order(carol, body("203.0.113.62")))
                refused_by_all(report, (a, b), "carol, who is not the chair")
                # The council appoints bob: alice's order, signed before, is a former chair's.
                alliance.run("propose", "appoint-chair", str(alliance.folder), "--key",
                             alliance.key("alice"), "--chair", "bob")
                alliance.vote(["bob"])
                await asyncio.sleep(1.0)  # the hub re-reads the act log (every 0.5 s)
                report = await conducted(ledger, alice_signed)
                refused_by_all(report, (a, b), "alice, who no longer chairs")
    for member in (a, b):
        assert not notes(member, "decision.refused"), notes(member, "decision.refused")


async def test_scheduled_drills_under_a_council_are_off_until_the_chair_signs_a_standing_order(
        alliance: Alliance, tmp_path: Path) -> None:
    hub = str(alliance.hub_dir)
    code, out, _ = await shieldwall("drill", "schedule", "--data", hub)
    assert code == 0 and "scheduled drills are off" in out and "standing order" in out
    standing_file, forged_file = tmp_path / "standing.json", tmp_path / "carol.json"
    for key, path in (("alice", standing_file), ("carol", forged_file)):
        code, _, err = await shieldwall("drill", "standing", "--key", alliance.key(key),
                                        "--every", "1h", "--out", str(path))
        assert code == 0, err
    code, _, err = await shieldwall("drill", "schedule", "--data", hub, str(forged_file))
    assert code != 0 and "carol, who is not the chair" in err
    code, out, err = await shieldwall("drill", "schedule", "--data", hub, str(standing_file))
    assert code == 0 and "scheduled drills are on: one every 3600 s" in out, err
