"""The policy's values: canonical targets and bounded evidence."""

from __future__ import annotations

from shieldwall.hub.policy_values import SAMPLE_CHARS, SAMPLE_LINES, canonical_target, contribution
from shieldwall.signals.signal import Signal


def test_a_host_route_is_a_plain_address() -> None:
    assert canonical_target("203.0.113.7/32")[0] == "203.0.113.7"
    assert canonical_target("2001:db8::/64")[0] == "2001:db8::/64"


def test_evidence_kept_in_memory_is_bounded_whatever_a_member_sends() -> None:
    signal = Signal(kind="detection", target="203.0.113.7", scenario="x", reason="r" * 5000,
                    evidence=tuple("l" * 5000 for _ in range(10)))
    kept = contribution("m", signal, 1.0)
    assert len(kept.sample) == SAMPLE_LINES and all(len(s) == SAMPLE_CHARS for s in kept.sample)
    assert len(kept.reason) == SAMPLE_CHARS and kept.received == 1.0
