"""The runtime carries out the core's commands; a failed apply is repaired, not lost."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.core import Enforce
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.cli.main import cli as cli_group
from shieldwall.decisions.decision import Decision
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.enforcers.plan import Plan
from shieldwall.errors import EnforcerError
from shieldwall.events import engine

#: Wall-clock now: the CLI stamps its bans with time.time(), the agent runs on the same clock.
NOW = time.time()


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


class RefusingLater(MemoryEnforcer):
    """Applies the start-up plan, then refuses once: a firewall changed behind our back."""

    def __init__(self) -> None:
        super().__init__()
        self.applies = 0

    def apply(self, plan: Plan, now: float) -> None:
        self.applies += 1
        if self.applies == 2:
            raise EnforcerError("nft: No such file or directory (table inet shieldwall)")
        super().apply(plan, now)


def cli(*args: str) -> None:
    result = CliRunner().invoke(cli_group, list(args))
    assert result.exit_code == 0, (result.output, result.exception)


def agent_with_exports(tmp_path: Path, enforcer: MemoryEnforcer) -> AgentRuntime:
    config = AgentConfig(data_dir=tmp_path, backend="memory", exports_dir=str(tmp_path / "exports"))
    runtime = AgentRuntime(config, enforcer=enforcer, notes=lambda e, f: None, clock=lambda: NOW)
    runtime.execute(runtime.core.startup(NOW))
    return runtime


def hub_decision(cursor: int, target: str) -> Decision:
    return Decision(cursor=cursor, action="block", target=target, until=NOW + 3600,
                    scenario="ssh-bruteforce", origin="m2", created=NOW)


def exported(tmp_path: Path) -> list[str]:
    return (tmp_path / "exports" / "blocklist.txt").read_text().split()


def test_an_operator_ban_survives_an_agent_repair(tmp_path: Path) -> None:
    enforcer = RefusingLater()
    runtime = agent_with_exports(tmp_path, enforcer)
    # The operator bans while the agent runs: the CLI writes the block store (another connection).
    cli("ban", "45.33.99.7", "--for", "1w", "--data-dir", str(tmp_path), "--no-firewall")
    # The agent's next change fails and is repaired by a full reconcile.
    runtime.handle(functools.partial(runtime.core.decision, hub_decision(1, "45.33.99.9")))
    assert enforcer.applies >= 2, "the repair path was taken"
    runtime.tick()
    assert set(enforcer.current(NOW)) == {"45.33.99.7", "45.33.99.9"}
    assert exported(tmp_path) == ["45.33.99.7", "45.33.99.9"]


def test_an_import_made_while_the_agent_runs_is_enforced_and_exported(tmp_path: Path) -> None:
    enforcer = MemoryEnforcer()
    runtime = agent_with_exports(tmp_path, enforcer)
    feed = tmp_path / "feed.txt"
    feed.write_text("45.33.99.1\n45.33.99.2\n198.51.100.0/24\n")  # the documentation range is refused
    cli("import", str(feed), "--data-dir", str(tmp_path), "--no-firewall")
    runtime.tick()  # nothing else happens: the agent notices the store changed
    assert set(enforcer.current(NOW)) == {"45.33.99.1", "45.33.99.2"}
    assert exported(tmp_path) == ["45.33.99.1", "45.33.99.2"]
    # An unban is followed the same way, and a later export does not bring it back.
    cli("unban", "45.33.99.1", "--data-dir", str(tmp_path), "--no-firewall")
    runtime.handle(functools.partial(runtime.core.decision, hub_decision(1, "45.33.99.9")))
    runtime.tick()
    assert set(enforcer.current(NOW)) == {"45.33.99.2", "45.33.99.9"}
    assert exported(tmp_path) == ["45.33.99.2", "45.33.99.9"]


async def test_the_start_note_says_which_events_engine_runs(tmp_path: Path) -> None:
    notes: list[tuple[str, dict[str, object]]] = []
    runtime = AgentRuntime(AgentConfig(data_dir=tmp_path, backend="memory"),
                           enforcer=MemoryEnforcer(), notes=lambda e, f: notes.append((e, f)))
    task = asyncio.create_task(runtime.run())
    for _ in range(500):
        if notes:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    start = [f for e, f in notes if e == "agent.start"]
    assert start and start[0]["engine"] == engine.describe()
    assert str(start[0]["engine"]).startswith(("compiled", "pure Python"))
