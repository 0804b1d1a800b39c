"""One registry of enforcers, read from the same spec type as agent.toml's [enforce] table."""

from __future__ import annotations

from typing import Any

from shieldwall.agent.config import parse_agent_config
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.dry_run import DryRunEnforcer
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.enforcers.plan import Plan
from shieldwall.enforcers.registry import ENFORCERS, EnforceSpec, make_enforcer

NOW = 1_800_000_000.0


def test_the_enforce_table_is_the_registrys_spec() -> None:
    config = parse_agent_config("[enforce]\nbackend = 'memory'\nallow = ['192.0.2.1']\nexports_dir = '/x'\n")
    assert config.enforce == EnforceSpec(backend="memory", allow=("192.0.2.1",), exports_dir="/x")
    assert set(ENFORCERS) == {"nftables", "memory", "none"}


def test_memory_and_none_keep_blocks_in_memory() -> None:
    for backend in ("memory", "none"):
        enforcer = make_enforcer(EnforceSpec(backend=backend), lambda e, f: None)  # type: ignore[arg-type]
        assert isinstance(enforcer, MemoryEnforcer) and enforcer.name == "memory"


def test_dry_run_is_an_ordinary_enforcer_that_only_says_what_it_would_do() -> None:
    notes: list[tuple[str, dict[str, Any]]] = []
    enforcer = make_enforcer(EnforceSpec(backend="nftables", dry_run=True), lambda e, f: notes.append((e, f)))
    assert isinstance(enforcer, DryRunEnforcer) and enforcer.name == "dry-run"
    desired = {"45.33.99.7": Block("45.33.99.7", NOW + 60)}
    plan = enforcer.reconcile(desired, NOW)
    assert [b.target for b in plan.add] == ["45.33.99.7"]
    assert notes == [("dry-run", {"would": "add 1, remove 0"})]
    assert not enforcer.reconcile(desired, NOW), "what it would hold is remembered: no second plan"
    enforcer.apply(Plan(remove=("45.33.99.7",)), NOW)
    assert enforcer.current(NOW) == {}
