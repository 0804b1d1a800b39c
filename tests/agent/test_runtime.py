"""The runtime carries out the core's commands; a failed apply is repaired, not lost."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.core import Enforce
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.enforcers.plan import Plan
from shieldwall.errors import EnforcerError


class RefusingOnce(MemoryEnforcer):
    """A stand-in for a firewall changed behind our back: the first apply fails."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0
        self.reconciled = 0

    def apply(self, plan: Plan, now: float) -> None:
        if not self.refused:
            self.refused += 1
            raise EnforcerError("nft: No such file or directory (table inet shieldwall)")
        super().apply(plan, now)

    def reconcile(self, desired: Mapping[str, Block], now: float) -> Plan:
        self.reconciled += 1
        return super().reconcile(desired, now)


def test_a_failed_apply_falls_back_to_a_full_reconcile(tmp_path: Path) -> None:
    enforcer = RefusingOnce()
    notes: list[str] = []
    runtime = AgentRuntime(AgentConfig(data_dir=tmp_path, backend="memory"), enforcer=enforcer,
                           notes=lambda event, fields: notes.append(event))
    block = Block("45.33.99.9", until=2e9)
    runtime.core.blocks[block.target] = block
    runtime.execute([Enforce(Plan(add=(block,)))])
    assert enforcer.reconciled == 1
    assert "enforce.repair" in notes
    assert enforcer.current(1.9e9) == {"45.33.99.9": 2e9}


def test_a_standalone_agent_queues_nothing(tmp_path: Path) -> None:
    runtime = AgentRuntime(AgentConfig(data_dir=tmp_path, backend="memory"),
                           enforcer=MemoryEnforcer(), notes=lambda e, f: None)
    assert runtime.member is None
    from shieldwall.agent.core import Report
    from shieldwall.signals.signal import Signal

    runtime.execute([Report((Signal(kind="detection", target="45.33.99.9", scenario="x"),))])
    assert runtime.state.backlog() == 0
