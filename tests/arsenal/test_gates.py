"""Gates: every bound a report misses is named."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.arsenal.figures import Figures
from shieldwall.arsenal.gates import Gate, Gates, check_gate, decode_gates, shortfalls
from shieldwall.errors import ArsenalError


def fig(**changes: object) -> Figures:
    base = Figures(rule="r@1", start=0, end=1, detections_live=0, detections_shadow=10, targets=5,
                   members=3, corroborated=2, corroboration=0.4, earliness=None, protected_hits=0,
                   lifted=0, disputes=0, lines=0, cpu_per_million=None)
    return msgspec.structs.replace(base, **changes)


def test_a_report_meeting_the_gate_passes() -> None:
    check_gate("r@1", "test", fig(), Gates())
    check_gate("r@1", "experimental", fig(detections_shadow=0), Gates())  # demotion needs no figures


def test_each_missed_bound_is_named() -> None:
    gate = Gate(min_detections=20, min_members=4, min_corroboration=0.5, max_protected_hits=0,
                max_lifted=0, max_disputes=0)
    missed = shortfalls(fig(protected_hits=1, lifted=2, disputes=1), gate)
    assert [m.split(" ")[0] for m in missed] == ["detections", "members", "corroboration", "protected",
                                                 "lifted", "disputes"]


def test_a_report_for_another_rule_version_is_refused() -> None:
    with pytest.raises(ArsenalError, match="measures r@1"):
        check_gate("r@2", "test", fig(), Gates())


def test_gates_round_trip_and_refuse_unknown_keys() -> None:
    assert decode_gates(msgspec.json.encode(Gates())) == Gates()
    with pytest.raises(ArsenalError):
        decode_gates(b'{"test": {"min_votes": 1}}')
