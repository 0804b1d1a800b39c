"""R4: a source is stale only against what it usually shows (fake clock)."""

from __future__ import annotations

import pytest

from shieldwall.readiness.liveness import (
    GapEstimate,
    SourceView,
    check_sources,
    stale_after,
    update_gap,
)
from shieldwall.readiness.verdict import Thresholds

NOW = 1_800_000_000.0
LIMITS = Thresholds()
AUTH = "file:/var/log/auth.log"
BUSY = GapEstimate(typical=60.0, samples=5, last_seen=NOW - 10)


def test_the_first_sighting_only_remembers_when_the_last_line_was() -> None:
    assert update_gap(GapEstimate(), NOW) == GapEstimate(typical=0.0, samples=0, last_seen=NOW)


def test_each_move_of_the_last_line_is_a_gap_in_the_running_estimate() -> None:
    estimate = GapEstimate()
    for t in (0.0, 60.0, 120.0, 180.0):
        estimate = update_gap(estimate, NOW + t)
    assert (estimate.typical, estimate.samples) == (60.0, 3)
    # One long gap moves the estimate, it does not replace it.
    estimate = update_gap(estimate, NOW + 780.0)
    assert estimate.typical == pytest.approx(0.8 * 60 + 0.2 * 600)


@pytest.mark.parametrize("seen", [None, NOW - 10, NOW - 100])
def test_a_last_line_that_did_not_move_changes_nothing_but_never_goes_back(seen: float | None) -> None:
    assert update_gap(BUSY, seen) == BUSY


def test_until_enough_gaps_are_seen_the_default_staleness_applies() -> None:
    young = GapEstimate(typical=5.0, samples=LIMITS.gap_samples - 1)
    assert stale_after(young, LIMITS) == LIMITS.stale_default
    assert stale_after(None, LIMITS) == LIMITS.stale_default


def test_a_known_gap_sets_staleness_but_never_below_the_minimum() -> None:
    assert stale_after(BUSY, LIMITS) == LIMITS.stale_min  # 10 x 60 s < 15 min
    slow = GapEstimate(typical=3600.0, samples=9)
    assert stale_after(slow, LIMITS) == 36_000.0


def test_a_source_with_a_recent_line_is_ok() -> None:
    check = check_sources([SourceView(AUTH, last_line_at=NOW - 30)], {AUTH: BUSY}, NOW, LIMITS)
    assert (check.code, check.state) == ("R4", "ok")
    assert "usually every 60s" in check.reason


def test_a_busy_source_silent_for_far_longer_than_usual_is_degraded() -> None:
    check = check_sources([SourceView(AUTH, last_line_at=NOW - 3600)], {AUTH: BUSY}, NOW, LIMITS)
    assert check.state == "degraded"
    assert AUTH in check.reason and "last line 60m ago" in check.reason


def test_a_quiet_source_is_not_stale_after_the_same_silence() -> None:
    quiet = {AUTH: GapEstimate(typical=1800.0, samples=8)}
    check = check_sources([SourceView(AUTH, last_line_at=NOW - 3600)], quiet, NOW, LIMITS)
    assert check.state == "ok"


def test_without_an_estimate_the_default_decides() -> None:
    old = SourceView(AUTH, last_line_at=NOW - LIMITS.stale_default - 1)
    assert check_sources([old], {}, NOW, LIMITS).state == "degraded"
    recent = SourceView(AUTH, last_line_at=NOW - LIMITS.stale_default + 1)
    assert check_sources([recent], {}, NOW, LIMITS).state == "ok"


def test_a_missing_source_is_failing_and_named_among_healthy_ones() -> None:
    views = [SourceView(AUTH, last_line_at=NOW), SourceView("file:/x", error="file not found")]
    check = check_sources(views, {}, NOW, LIMITS)
    assert check.state == "failing"
    assert check.reason == "file:/x: file not found"


def test_a_source_without_any_line_yet_is_degraded() -> None:
    assert check_sources([SourceView(AUTH)], {}, NOW, LIMITS).state == "degraded"


def test_no_configured_source_is_degraded() -> None:
    check = check_sources([], {}, NOW, LIMITS)
    assert check.state == "degraded" and "[[sources]]" in check.reason


def test_a_source_that_cannot_be_observed_from_here_is_degraded_with_why() -> None:
    view = SourceView("stdin", unobserved="standard input cannot be watched")
    check = check_sources([view], {}, NOW, LIMITS)
    assert check.state == "degraded" and "standard input" in check.reason
