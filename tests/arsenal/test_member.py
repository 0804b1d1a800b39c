"""The agent's arsenal hook: pinned before it runs, quiet without a pin, loud on a bad set."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec
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


def test_shipped_detections_become_live_sightings_of_their_rule_version(tmp_path: Path) -> None:
    from shieldwall.arsenal.member import Trust
    from shieldwall.signals.signal import Signal

    runtime = AgentRuntime(AgentConfig(data_dir=tmp_path, backend="memory"), enforcer=MemoryEnforcer(),
                           notes=lambda e, f: None)
    hook = runtime.arsenal
    signal = Signal(kind="detection", target="45.33.1.1", scenario="ssh-bruteforce", first_seen=10.0,
                    last_seen=14.0, rule="ssh-bruteforce@0123456789ab")
    hook.shipped([signal])
    assert hook.pending == []  # not joined to the arsenal: nothing to report
    hook.trust = Trust("0" * 64)
    hook.shipped([
        signal,
        msgspec.structs.replace(signal, rule=""),                     # an older agent's signal
        msgspec.structs.replace(signal, rule="Local_Scenario@1"),     # not a rule id the hub takes
        msgspec.structs.replace(signal, kind="ban"),
    ])
    assert [(s.rule, s.target, s.at, s.mode) for s in hook.pending] == [
        ("ssh-bruteforce@0123456789ab", "45.33.1.1", 14.0, "live")]
