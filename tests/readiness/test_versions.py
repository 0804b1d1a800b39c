"""R5 and R8: unknown is degraded with a reason, never ok; an alliance that never
drilled is the one ok without a drill."""

from __future__ import annotations

import pytest

from shieldwall.readiness.verdict import Thresholds
from shieldwall.readiness.versions import DrillView, VersionView, check_drill, check_versions

NOW = 1_800_000_000.0
LIMITS = Thresholds()
MINE = {"sshd": "a" * 64, "nginx": "b" * 64}


def test_unknown_alliance_versions_are_degraded_and_list_ours() -> None:
    check = check_versions(VersionView(local=MINE))
    assert (check.code, check.state) == ("R5", "degraded")
    assert "unknown" in check.reason and "sshd@aaaaaaaaaaaa" in check.reason


def test_matching_versions_are_ok() -> None:
    assert check_versions(VersionView(local=MINE, alliance=dict(MINE))).state == "ok"


def test_a_pack_that_differs_from_the_alliances_is_degraded_and_named() -> None:
    check = check_versions(VersionView(local=MINE, alliance={**MINE, "sshd": "c" * 64}))
    assert check.state == "degraded" and "pack sshd" in check.reason


def test_a_differing_policy_is_degraded() -> None:
    view = VersionView(local=MINE, alliance=MINE, policy_local="3", policy_alliance="4")
    assert check_versions(view).state == "degraded"


def test_a_pack_that_cannot_load_is_failing() -> None:
    check = check_versions(VersionView(errors={"mine.toml": "cannot read pack file"}))
    assert check.state == "failing" and "mine.toml" in check.reason


def test_no_drill_known_without_word_from_the_hub_is_degraded() -> None:
    check = check_drill(None, NOW, LIMITS)
    assert (check.code, check.state) == ("R8", "degraded") and "no drill known" in check.reason


def test_no_drill_yet_in_an_alliance_that_never_drilled_is_ok_with_a_note() -> None:
    check = check_drill(None, NOW, LIMITS, alliance_drilled=False)
    assert check.state == "ok" and "never run one" in check.reason


def test_a_member_without_a_result_in_an_alliance_that_drilled_is_degraded() -> None:
    check = check_drill(None, NOW, LIMITS, alliance_drilled=True)
    assert check.state == "degraded" and "no drill result" in check.reason


@pytest.mark.parametrize(("drill", "state"), [
    (DrillView(passed=True, at=NOW - 3600), "ok"),
    (DrillView(passed=False, at=NOW - 3600, detail="enforce stage: table missing"), "failing"),
    (DrillView(passed=True, at=NOW - LIMITS.drill_age - 1), "degraded"),
])
def test_the_last_drill_decides(drill: DrillView, state: str) -> None:
    check = check_drill(drill, NOW, LIMITS)
    assert check.state == state
    assert drill.detail in check.reason
