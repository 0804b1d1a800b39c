"""The agent's arsenal hook: pinned before it runs, quiet without a pin, loud on a bad set."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.arsenal.member import ROOT, ArsenalHook, join_arsenal, trust_of
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.errors import ArsenalError


def test_a_root_that_does_not_hash_to_the_pin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArsenalError, match="does not hash") as refusal:
        join_arsenal(tmp_path, b"a hostile root", "0" * 64)
    assert refusal.value.reason == "forged"
    assert trust_of(tmp_path / "arsenal") is None


def test_the_pinned_root_and_refresh_are_kept(tmp_path: Path) -> None:
    root = b'{"signed": {}}'
    join_arsenal(tmp_path, root, hashlib.sha256(root).hexdigest(), refresh=30)
    trust = trust_of(tmp_path / "arsenal")
    assert trust is not None and trust.refresh == 30
    assert (tmp_path / "arsenal" / ROOT).read_bytes() == root


def test_a_standalone_agent_runs_no_alliance_rules(tmp_path: Path) -> None:
    notes: list[str] = []
    runtime = AgentRuntime(AgentConfig(data_dir=tmp_path, backend="memory"), enforcer=MemoryEnforcer(),
                           notes=lambda e, f: notes.append(e))
    hook = runtime.arsenal
    assert isinstance(hook, ArsenalHook) and hook.trust is None
    hook.start()  # starts nothing: no membership, no pin
    assert hook.engine.runs == {} and not [n for n in notes if n.startswith("arsenal")]
