"""R1, R2, R6 from what one request to the hub saw (fake clock: ``NOW``)."""

from __future__ import annotations

import pytest

from shieldwall.readiness.link import (
    HubView,
    StreamView,
    check_clock,
    check_hub,
    check_lag,
    clock_skew,
)
from shieldwall.readiness.verdict import Thresholds

NOW = 1_800_000_000.0
LIMITS = Thresholds()
UP = StreamView(connected=True, reported_at=NOW - 2, cursor=40, head=40)


def answered(**changes: object) -> HubView:
    fields: dict[str, object] = {
        "hub": "hub.example:8443", "head": 40, "date": NOW, "sent_at": NOW + 0.4,
        "received_at": NOW + 0.6, "stream": UP,
    }
    fields.update(changes)
    return HubView(**fields)  # type: ignore[arg-type]


def test_a_reachable_hub_with_a_connected_stream_is_ok() -> None:
    check = check_hub(answered(), NOW, LIMITS)
    assert (check.code, check.state) == ("R1", "ok")
    assert "connected" in check.reason


def test_a_host_that_never_joined_is_failing_and_told_to_join() -> None:
    check = check_hub(HubView(joined=False), NOW, LIMITS)
    assert check.state == "failing" and "shieldwall join" in check.reason


def test_an_unreachable_hub_is_failing_with_the_error() -> None:
    check = check_hub(HubView(hub="h:1", error="connection refused"), NOW, LIMITS)
    assert check.state == "failing"
    assert "h:1 unreachable: connection refused" in check.reason


@pytest.mark.parametrize(("reason", "fix"), [("revoked-key", "join again"),
                                              ("stale", "hub's log")])
def test_a_hub_refusing_this_members_key_is_failing_with_what_to_do(reason: str, fix: str) -> None:
    check = check_hub(answered(refusal=reason), NOW, LIMITS)
    assert check.state == "failing" and reason in check.reason and fix in check.reason


def test_no_stream_report_is_degraded_not_ok() -> None:
    check = check_hub(answered(stream=None), NOW, LIMITS)
    assert check.state == "degraded" and "agent run" in check.reason


def test_a_stream_report_older_than_the_limit_means_the_agent_is_not_running() -> None:
    old = StreamView(connected=True, reported_at=NOW - LIMITS.stream_report_age - 1)
    check = check_hub(answered(stream=old), NOW, LIMITS)
    assert check.state == "failing" and "not running" in check.reason


def test_a_report_just_within_the_limit_still_counts() -> None:
    recent = StreamView(connected=True, reported_at=NOW - LIMITS.stream_report_age)
    assert check_hub(answered(stream=recent), NOW, LIMITS).state == "ok"


def test_a_disconnected_stream_is_degraded() -> None:
    down = StreamView(connected=False, reported_at=NOW)
    assert check_hub(answered(stream=down), NOW, LIMITS).state == "degraded"


@pytest.mark.parametrize(("head", "state"), [(40, "ok"), (139, "ok"), (140, "degraded"),
                                             (10_039, "degraded"), (10_040, "failing")])
def test_lag_is_judged_against_the_thresholds(head: int, state: str) -> None:
    check = check_lag(answered(head=head, stream=None), 40, LIMITS)
    assert (check.code, check.state) == ("R2", state)
    assert f"{head - 40} decisions behind" in check.reason


def test_a_hub_head_behind_the_members_cursor_is_a_lost_log() -> None:
    check = check_lag(answered(head=10, stream=None), 40, LIMITS)
    assert check.state == "failing" and "lost decisions" in check.reason


def test_the_running_agents_cursor_wins_over_an_older_saved_one() -> None:
    ahead = StreamView(connected=True, reported_at=NOW, cursor=500)
    assert check_lag(answered(head=520, stream=ahead), 10, LIMITS).state == "ok"


def test_a_live_streams_newer_head_is_no_lost_log() -> None:
    # The answer's head was read before decision 41 reached the stream (or on a replica a
    # few ms behind the one streaming): the stream's own head is the hub's newer word.
    live = StreamView(connected=True, reported_at=NOW, cursor=41, head=41)
    check = check_lag(answered(head=40, stream=live), 40, LIMITS)
    assert check.state == "ok" and "hub head 41" in check.reason


def test_a_stream_stopped_by_a_hub_that_went_back_does_not_hide_the_lost_log() -> None:
    stopped = StreamView(connected=False, reported_at=NOW, cursor=41, head=41)
    check = check_lag(answered(head=10, stream=stopped), 40, LIMITS)
    assert check.state == "failing" and "ends at 10" in check.reason


@pytest.mark.parametrize(("view", "cursor", "missing"), [
    (HubView(error="down"), 5, "head"), (answered(), None, "cursor")])
def test_lag_not_measured_is_degraded(view: HubView, cursor: int | None, missing: str) -> None:
    check = check_lag(view, cursor, LIMITS)
    assert check.state == "degraded" and missing in check.reason


def test_clock_skew_is_measured_from_the_middle_of_the_round_trip() -> None:
    # Date says NOW (so the hub's time was in [NOW, NOW+1)); we were at NOW+0.5 mid-trip.
    skew, uncertainty = clock_skew(answered()) or (None, None)
    assert skew == pytest.approx(0.0)
    assert uncertainty == pytest.approx(0.6)


@pytest.mark.parametrize(("ahead", "state", "word"), [
    (0.0, "ok", "ahead"), (3.0, "ok", "ahead"), (-8.0, "degraded", "behind"),
    (70.0, "failing", "ahead"), (-70.0, "failing", "behind")])
def test_clock_skew_states(ahead: float, state: str, word: str) -> None:
    view = answered(sent_at=NOW + 0.4 + ahead, received_at=NOW + 0.6 + ahead)
    check = check_clock(view, LIMITS)
    assert (check.code, check.state) == ("R6", state)
    assert word in check.reason or ahead == 0.0


def test_skew_within_the_measurements_uncertainty_is_not_held_against_the_member() -> None:
    # A slow round trip (4 s) makes a 5.5 s difference indistinguishable from 3.5 s.
    view = answered(sent_at=NOW + 4.0, received_at=NOW + 8.0)
    assert check_clock(view, LIMITS).state == "ok"


def test_no_date_means_skew_not_measured() -> None:
    check = check_clock(HubView(error="down"), LIMITS)
    assert check.state == "degraded" and "not measured" in check.reason
