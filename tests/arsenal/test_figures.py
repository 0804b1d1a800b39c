"""Figures of a rule version: each definition checked on a small hand-computed case."""

from __future__ import annotations

from shieldwall.arsenal.figures import OtherReport, Sighting, Usage, figures
from shieldwall.decisions.decision import Decision

R = "quick@1"


def s(member: str, target: str, at: float, rule: str = R, mode: str = "shadow") -> Sighting:
    return Sighting(rule, rule.split("@")[0], target, at, mode, member)  # type: ignore[arg-type]


SIGHTINGS = [
    s("m1", "192.0.2.1", 1000),
    s("m2", "192.0.2.1", 1500),            # same target, another member: corroborates
    s("m1", "192.0.2.2", 2000),
    s("m3", "192.0.2.3", 3000, mode="live"),
    s("m4", "192.0.2.9", 9000, rule="other@1"),
    s("m1", "192.0.2.4", 99_000),          # outside the window
]
OTHERS = [
    OtherReport("m1", "ssh-bruteforce", "192.0.2.2", 2600),   # another rule, 600 s later
    OtherReport("m3", "quick", "192.0.2.3", 3000),           # its own signal: counts for nothing
    OtherReport("m5", "ssh-bruteforce", "192.0.2.3", 3000 + 3601),  # too late
]


def test_figures_match_the_hand_computed_values() -> None:
    f = figures(R, SIGHTINGS, OTHERS, [], start=0, end=10_000,
                protected=lambda t: "member m2" if t == "192.0.2.2" else None,
                usage=[Usage(R, 2_000_000, 0.5, "m1"), Usage(R, 1_000_000, 0.25, "m2"),
                       Usage("other@1", 5, 9.0)])
    assert (f.detections_shadow, f.detections_live, f.targets, f.members) == (3, 1, 3, 3)
    # .1 by m1 and m2 (another member), .2 by ssh-bruteforce (another rule); .3 by nobody else in time.
    assert (f.corroborated, f.corroboration) == (2, round(2 / 3, 6))
    assert f.earliness == 600.0            # only .2 had another rule: it came 600 s later
    assert f.protected_hits == 1
    assert f.lines == 3_000_000 and f.cpu_per_million == 0.25


def test_no_targets_gives_zero_corroboration_and_no_earliness() -> None:
    f = figures("none@1", SIGHTINGS, OTHERS, [], start=0, end=10_000)
    assert (f.detections, f.targets, f.corroboration) == (0, 0, 0.0)
    assert (f.earliness, f.cpu_per_million) == (None, None)


def test_only_operator_lifts_before_expiry_of_blocks_naming_the_rule_count_as_lifted() -> None:
    decisions = [
        Decision(1, "block", "192.0.2.1", until=5000, rule=R, origin="m1,m2", created=1000),
        Decision(2, "lift", "192.0.2.1", until=2000, origin="operator", created=2000),
        Decision(3, "block", "192.0.2.2", until=5000, rule=R, created=1000),
        Decision(4, "lift", "192.0.2.2", until=6000, origin="operator", created=6000),  # after expiry
        Decision(5, "block", "192.0.2.3", until=5000, rule="other@1", created=1000),
        Decision(6, "lift", "192.0.2.3", until=2000, origin="operator", created=2000),
    ]
    assert figures(R, SIGHTINGS, [], decisions, start=0, end=10_000).lifted == 1
