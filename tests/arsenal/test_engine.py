"""The member's engine: experimental rules only sight, enforcing rules also detect."""

from __future__ import annotations

from shieldwall.arsenal.active import ActiveRule, ActiveSet
from shieldwall.arsenal.engine import Engine, detections_of
from shieldwall.arsenal.rule import parse_rule
from tests.arsenal.alliance import rule_text

LINES = b"".join(
    b"Mar  1 10:00:0%d host sshd[%d]: Failed password for root from 198.51.100.7 port 4%d ssh2\n"
    % (i, 100 + i, i)
    for i in range(4)
)


def _engine(status: str) -> Engine:
    engine = Engine(year=2026)
    engine.load(ActiveSet(1, (ActiveRule(parse_rule(rule_text("fast-guess")), status),)))
    return engine


def test_an_experimental_rule_sights_in_shadow_and_never_yields_a_detection_to_enforce() -> None:
    engine = _engine("experimental")
    found = engine.feed("fast-guess@1", LINES)
    assert [(f.sighting.target, f.sighting.mode) for f in found] == [("198.51.100.7", "shadow")]
    assert detections_of(found) == []


def test_a_test_rule_sights_live_and_yields_its_detection() -> None:
    found = _engine("test").feed("fast-guess@1", LINES)
    assert [f.sighting.mode for f in found] == ["live"]
    assert [d.key for d in detections_of(found)] == ["198.51.100.7"]


def test_a_deprecated_rule_does_not_run_and_a_swap_keeps_unchanged_rules_state() -> None:
    engine = _engine("experimental")
    assert engine.reading("sshd") == ["fast-guess@1"]
    engine.feed("fast-guess@1", LINES[: LINES.index(b"\n") + 1])
    kept = engine.runs["fast-guess@1"]
    engine.load(ActiveSet(2, (ActiveRule(parse_rule(rule_text("fast-guess")), "experimental"),)))
    assert engine.runs["fast-guess@1"] is kept
    engine.load(ActiveSet(3, (ActiveRule(parse_rule(rule_text("fast-guess")), "deprecated"),)))
    assert engine.reading("sshd") == []
    assert engine.lines_read() == {}
