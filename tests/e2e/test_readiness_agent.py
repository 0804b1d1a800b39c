"""The running agent checks itself, tells the hub, and answers ``/readyz``: real processes.

A hub (``shieldwall hub serve``) and a member's agent (``shieldwall agent run``,
nftables backend, ``[readiness] interval = "1s"`` and a loopback listener) run in a
network namespace the test creates. The checks are driven to fail for real, under
the running agent: its nft table deleted (R3), its log source left silent (R4), its
hub stopped (R1); each is asserted on the agent's ``/readyz`` and on the hub's
roster (``shieldwall hub readiness``), with a deadline wait, never a timing claim.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.roster import JOURNAL_KIND, Transition
from tests.conftest import require_root
from tests.integration.netns_member import NetnsMember, sh
from tests.integration.netns_member import until as wait_until

pytestmark = pytest.mark.root

PROBE_PORT = 9571
#: The issue's deadline for R1 and R3 (the agent checks every second).
DEADLINE = 30.0

FETCH = """
import sys, urllib.request, urllib.error
try:
    answer = urllib.request.urlopen(sys.argv[1], timeout=5)
    print(answer.status); print(answer.read().decode())
except urllib.error.HTTPError as exc:
    print(exc.code); print(exc.read().decode())
"""


def until(condition: Callable[[], bool], limit: float = DEADLINE) -> bool:
    return wait_until(condition, limit, step=0.25)


@dataclass
class Member(NetnsMember):
    def probe(self, path: str) -> tuple[int, dict[str, Any]]:
        done = sh(*self.inside(sys.executable, "-c", FETCH,
                               f"http://127.0.0.1:{PROBE_PORT}{path}"), check=False)
        lines = done.stdout.splitlines()
        if done.returncode != 0 or len(lines) < 2:
            return 0, {}
        return int(lines[0]), json.loads("\n".join(lines[1:]))

    def checks(self) -> dict[str, dict[str, Any]]:
        _, document = self.probe("/readyz")
        return {c["code"]: c for c in document.get("checks", [])}

    def state_of(self, code: str) -> str:
        return str(self.checks().get(code, {}).get("state", "none"))

    def roster(self) -> dict[str, Any]:
        done = self.cli("hub", "readiness", "--json", "--data", str(self.hub))
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return {row["member"]: row for row in rows}

    def transitions(self) -> list[tuple[str, str]]:
        async def read() -> list[tuple[str, str]]:
            ledger = SQLiteLedger(self.hub / "ledger.db")
            await ledger.open()
            try:
                stored = await ledger.journal(JOURNAL_KIND, key="alpha")
            finally:
                await ledger.close()
            moves = [msgspec.json.decode(s.body, type=Transition) for s in stored]
            return [(t.before, t.after) for t in moves]

        return asyncio.run(read())


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Member]:
    require_root("nft", "ip")
    root = tmp_path_factory.mktemp("readiness-agent")
    lab = Member(f"swt-readiness-{secrets.token_hex(3)}", root)
    try:
        lab.found(f'interval = "1s"\nlisten = "127.0.0.1:{PROBE_PORT}"\n')
        lab.ban("192.0.2.5", "198.51.100.0/24")
        lab.start("agent", "agent", "run", "--config", str(root / "agent.toml"))
        yield lab
    finally:
        lab.close()


def test_a_healthy_member_is_ready_on_readyz_status_and_the_hubs_roster(member: Member) -> None:
    assert until(lambda: member.probe("/readyz")[0] == 200
                 and all(c["state"] == "ok" for c in member.checks().values())), \
        (member.checks(), member.output())
    checks = member.checks()
    assert sorted(checks) == [f"R{i}" for i in range(1, 9)]
    assert "packs match the alliance's" in checks["R5"]["reason"]
    assert "never run one" in checks["R8"]["reason"]
    code, health = member.probe("/healthz")
    assert code == 200 and health["status"] == "ok" and health["rounds"] >= 1
    assert member.probe("/elsewhere")[0] == 404
    assert until(lambda: member.roster().get("alpha", {}).get("state") == "ok"), member.roster()
    assert member.roster()["alpha"]["counts"] is True
    # The agent waited for its stream and left out what only the hub's answer tells:
    # its first heartbeat was already ok, so the roster never flapped.
    assert member.transitions() == [("unknown", "ok")]
    # `status` (another process) judges R5 and R8 from the hub's answer the agent saved.
    done = member.cli("status", "--json", "--config", str(member.root / "agent.toml"))
    assert done.returncode == 0, done.stdout


def test_deleting_the_table_under_the_running_agent_fails_r3_on_the_agent_and_the_hub(
    member: Member,
) -> None:
    sh(*member.inside("nft", "delete", "table", "inet", "shieldwall"))
    try:
        assert until(lambda: member.state_of("R3") == "failing"), member.checks()
        assert member.probe("/readyz")[0] == 503
        assert "2 active blocks" in member.checks()["R3"]["reason"]
        assert until(lambda: member.roster()["alpha"]["state"] == "failing"), member.roster()
        assert "R3 failing" in member.roster()["alpha"]["reason"]
    finally:
        done = member.cli("enforce", "apply", "--data-dir", str(member.data))
        assert done.returncode == 0, done.stderr
    assert until(lambda: member.state_of("R3") == "ok"), member.checks()
    assert until(lambda: member.roster()["alpha"]["state"] == "ok"), member.roster()


def test_a_source_silent_for_longer_than_usual_degrades_r4(member: Member) -> None:
    old = time.time() - 7 * 3600  # older than the default staleness while no gap is known
    os.utime(member.log, (old, old))
    try:
        assert until(lambda: member.state_of("R4") == "degraded"), member.checks()
        assert member.probe("/readyz")[0] == 200  # degraded is still ready
        assert "7.0h ago" in member.checks()["R4"]["reason"]
    finally:
        os.utime(member.log)
    assert until(lambda: member.state_of("R4") == "ok"), member.checks()


def test_stopping_the_hub_fails_r1_within_the_deadline(member: Member) -> None:
    member.stop("hub")
    assert until(lambda: member.state_of("R1") == "failing"), member.checks()
    assert "unreachable" in member.checks()["R1"]["reason"]
    assert member.probe("/readyz")[0] == 503
