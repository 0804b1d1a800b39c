"""``shieldwall status`` against the real thing, as root, in a network namespace.

A hub (``shieldwall hub serve``) and a member's agent (``shieldwall agent run``,
nftables backend) run as real processes in a namespace the test creates, so the
table they touch and the loopback the hub listens on are the namespace's own.
Then the checks are watched failing for real: the table deleted under a store
holding blocks (R3), a source left silent (R4), the hub stopped (R1). Waits are
polls with generous limits, never timing assertions.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import require_root
from tests.integration.netns_member import NetnsMember, sh, until

pytestmark = pytest.mark.root



@dataclass
class Member(NetnsMember):
    def status(self) -> tuple[int, dict[str, dict[str, Any]]]:
        done = self.cli("status", "--json", "--full", "--config", str(self.root / "agent.toml"))
        assert done.returncode in (0, 1), done.stderr
        document = json.loads(done.stdout)
        return done.returncode, {c["code"]: c for c in document["checks"]}

    def stream_connected(self) -> bool:
        try:
            return bool(json.loads((self.data / "stream.json").read_text())["connected"])
        except (OSError, ValueError, KeyError):
            return False


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Member]:
    require_root("nft", "ip")
    root = tmp_path_factory.mktemp("readiness")
    lab = Member(f"swt-ready-{secrets.token_hex(3)}", root)
    try:
        # Short, so that a stopped agent shows without a long wait.
        lab.found('stream_report_age = "3s"\n')
        lab.start("agent", "agent", "run", "--config", str(root / "agent.toml"))
        assert until(lab.stream_connected), (root / "agent.out").read_text()
        # The agent's first heartbeat answer carries the alliance's versions (R5, R8).
        assert until(lambda: (lab.data / "alliance.json").exists()), (root / "agent.out").read_text()
        lab.ban("192.0.2.5", "198.51.100.0/24")
        yield lab
    finally:
        lab.close()


def test_a_joined_member_with_its_agent_running_is_ready(member: Member) -> None:
    code, checks = member.status()
    states = {k: c["state"] for k, c in checks.items()}
    assert states == {f"R{i}": "ok" for i in range(1, 9)}, checks
    assert "2 blocks" in checks["R3"]["reason"]
    assert "packs match the alliance's" in checks["R5"]["reason"]
    assert "never run one" in checks["R8"]["reason"]  # an alliance that never drilled
    assert code == 0


def test_deleting_the_table_under_a_store_holding_blocks_fails_r3(member: Member) -> None:
    # The running agent would repair the table on its next change (a race with the check):
    # R3 is about what the kernel holds, so the agent is stopped while the table is gone.
    member.stop("agent")
    sh(*member.inside("nft", "delete", "table", "inet", "shieldwall"))
    try:
        _, checks = member.status()
        assert checks["R3"]["state"] == "failing"
        assert "missing" in checks["R3"]["reason"] and "2 active blocks" in checks["R3"]["reason"]
    finally:
        done = member.cli("enforce", "apply", "--data-dir", str(member.data))
        assert done.returncode == 0, done.stderr
        member.start("agent", "agent", "run", "--config", str(member.root / "agent.toml"))
        assert until(member.stream_connected), (member.root / "agent.out").read_text()
    assert member.status()[1]["R3"]["state"] == "ok"


def test_a_source_silent_for_longer_than_it_usually_is_degrades_r4(member: Member) -> None:
    old = time.time() - 7 * 3600  # older than the default staleness while no gap is known
    os.utime(member.log, (old, old))
    try:
        _, checks = member.status()
        assert checks["R4"]["state"] == "degraded"
        assert str(member.log) in checks["R4"]["reason"] and "7.0h ago" in checks["R4"]["reason"]
    finally:
        os.utime(member.log)


def test_a_stopped_agent_is_seen_as_not_running(member: Member) -> None:
    member.stop("agent")

    def r1_failing() -> bool:
        return member.status()[1]["R1"]["state"] == "failing"

    assert until(r1_failing)
    reason = member.status()[1]["R1"]["reason"]
    assert "agent is not running" in reason and "shieldwall agent run" in reason


def test_stopping_the_hub_fails_r1(member: Member) -> None:
    member.stop("hub")
    _, checks = member.status()
    assert checks["R1"]["state"] == "failing", checks["R1"]
    assert "unreachable" in checks["R1"]["reason"]
    assert checks["R2"]["state"] == checks["R6"]["state"] == "degraded"
