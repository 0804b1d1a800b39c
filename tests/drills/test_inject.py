"""Drill lines go through the member's real pack and scenarios, in instances of their own."""

from __future__ import annotations

import pytest

from shieldwall.addresses import Ranges, parse_ranges
from shieldwall.detection.scenario import default_scenarios
from shieldwall.drills.inject import MAX_LINES, TEMPLATES, rehearse
from shieldwall.events.packs import load_pack

NOW = 1_800_000_000.0


@pytest.mark.parametrize("pack", sorted(TEMPLATES))
def test_each_template_is_parsed_by_its_pack_and_detected_by_a_shipped_scenario(pack: str) -> None:
    found = rehearse("198.51.100.23", [load_pack(pack)], default_scenarios(), Ranges(), NOW)
    assert found.detection is not None and found.detection.key == "198.51.100.23"
    assert found.pack == pack and found.lines == found.detection.count


def test_an_ipv6_target_is_detected_under_its_prefix() -> None:
    found = rehearse("2001:db8::7", [load_pack("sshd")], default_scenarios(), Ranges(), NOW)
    assert found.detection is not None and found.detection.key == "2001:db8::/64"


def test_a_target_the_member_exempts_from_detection_is_a_protected_failure() -> None:
    exempt = parse_ranges(["192.0.2.0/24"], "detection.allow")
    found = rehearse("192.0.2.7", [load_pack("sshd")], default_scenarios(), exempt, NOW)
    assert found.detection is None and found.failure == "protected"


def test_a_member_without_a_drill_pack_says_so() -> None:
    found = rehearse("192.0.2.7", [load_pack("postfix")], default_scenarios(), Ranges(), NOW)
    assert found.failure == "unsupported" and "postfix" in found.detail


def test_no_scenario_for_the_pack_means_no_detection_after_the_cap() -> None:
    only_http = [s for s in default_scenarios() if "sshd" not in s.packs]
    found = rehearse("192.0.2.7", [load_pack("sshd")], only_http, Ranges(), NOW)
    assert found.failure == "missing" and found.lines == MAX_LINES
