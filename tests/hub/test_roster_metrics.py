"""The roster's gauges: per member and per check, escaped labels, the heartbeat counters."""

from __future__ import annotations

from collections import Counter

from shieldwall.hub.roster import Entry
from shieldwall.hub.roster_metrics import label, render_roster
from shieldwall.readiness.verdict import Check

CHECKS = (Check("R1", "hub link", "ok", "x"), Check("R3", "enforcer verified", "failing", "y"))


def lines(text: str) -> set[str]:
    return {line for line in text.splitlines() if not line.startswith("#")}


def test_each_member_and_check_is_a_gauge() -> None:
    roster = {
        "alpha": Entry("alpha", "failing", 100.0, checks=CHECKS, seen=150.0, skew=-0.25),
        "beta": Entry("beta", "ok", 100.0, checks=CHECKS[:1], seen=190.0, skew=0.0),
        "gamma": Entry("gamma", "unknown", 0.0),
    }
    text = render_roster(roster, 200.0, 60.0, 7, Counter({"replayed": 2}))
    got = lines(text)
    assert {'shieldwall_member_ready{member="alpha"} 0', 'shieldwall_member_ready{member="beta"} 1',
            'shieldwall_member_counts{member="alpha"} 0', 'shieldwall_member_counts{member="gamma"} 1',
            'shieldwall_member_check{member="alpha",check="R3"} 2',
            'shieldwall_member_check{member="alpha",check="R1"} 0',
            'shieldwall_member_heartbeat_age_seconds{member="alpha"} 50.000',
            'shieldwall_member_clock_skew_seconds{member="alpha"} -0.250',
            'shieldwall_members_readiness{state="failing"} 1',
            'shieldwall_members_readiness{state="unknown"} 1',
            "shieldwall_heartbeats_total 7",
            'shieldwall_heartbeats_refused_total{reason="replayed"} 2'} <= got
    assert not any("gamma" in line and "age" in line for line in got)
    assert "# TYPE shieldwall_member_check gauge" in text


def test_a_hostile_member_name_cannot_break_out_of_its_label() -> None:
    assert label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    text = render_roster({'x"} 1\nfake': Entry('x"} 1\nfake', "ok", 0.0)}, 1.0, 1.0, 0, Counter())
    assert "\nfake" not in text
