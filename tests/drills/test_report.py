"""The drill report: stage latencies per member, p50/p99 detection -> block, failures named."""

from __future__ import annotations

from shieldwall.drills.order import OrderBody
from shieldwall.drills.report import Record, Track, build_report, percentile, render_report
from shieldwall.drills.stage import StageReport
from shieldwall.signals.signal import Signal

T0 = 1_800_000_000.0


def rep(member: str, stage: str, started: float, at: float, ok: bool = True,
        detail: str = "") -> StageReport:
    signal = Signal(kind="detection", target="192.0.2.7", scenario="s") if stage == "signal" else None
    return StageReport(drill="drill-0123abcd", member=member, stage=stage,  # type: ignore[arg-type]
                       ok=ok, started=started, at=at, detail=detail, signal=signal)


def full_track(member: str, detect_at: float, enforce_at: float) -> Track:
    t = Track()
    for stage, started, at, received in [
        ("accept", T0, T0 + 0.1, T0 + 0.1), ("detect", T0 + 0.1, detect_at, detect_at),
        ("signal", detect_at, detect_at + 0.01, detect_at + 0.05),
        ("push", T0 + 1.0, T0 + 1.02, T0 + 1.02), ("enforce", T0 + 1.02, enforce_at, enforce_at),
        ("lift", T0 + 2.0, T0 + 2.03, T0 + 2.03),
    ]:
        t.reports[stage] = rep(member, stage, started, at)
        t.received[stage] = received
    return t


def record(tracks: dict[str, Track], **changes: object) -> Record:
    order = OrderBody(id="drill-0123abcd", target="192.0.2.7", issued=int(T0), ttl=120,
                      members=tuple(tracks))
    r = Record(order, T0, tracks, decided_at=T0 + 1.0, decision=7, lift_at=T0 + 2.0, lift=8)
    for key, value in changes.items():
        setattr(r, key, value)
    return r


def test_each_stage_latency_is_measured_where_it_happens() -> None:
    report = build_report(record({"a": full_track("a", T0 + 0.2, T0 + 1.05)}), T0 + 3)
    row = report.member("a")
    assert row is not None and row.passed and report.passed
    latency = {s.stage: s.latency for s in row.stages}
    assert abs(latency["detect"] - 0.1) < 1e-6  # type: ignore[operator]
    assert abs(latency["signal"] - 0.05) < 1e-6  # type: ignore[operator]  # hub receipt - detection
    assert abs(latency["decide"] - 0.75) < 1e-6  # type: ignore[operator]
    assert abs(latency["push"] - 0.02) < 1e-6  # type: ignore[operator]
    assert abs(latency["lift"] - 0.03) < 1e-6  # type: ignore[operator]
    assert abs(row.detect_to_block - 0.85) < 1e-6  # type: ignore[operator]


def test_detection_to_block_counts_from_the_alliance_first_detection() -> None:
    tracks = {"a": full_track("a", T0 + 0.2, T0 + 1.05), "b": full_track("b", T0 + 0.5, T0 + 1.2)}
    report = build_report(record(tracks), T0 + 3)
    assert report.on_all is not None and abs(report.on_all - 1.0) < 1e-6
    assert report.p50 is not None and abs(report.p50 - 0.85) < 1e-6


def test_a_failed_stage_fails_the_member_and_the_drill_and_names_why() -> None:
    bad = full_track("b", T0 + 0.2, T0 + 1.1)
    bad.reports["enforce"] = rep("b", "enforce", T0 + 1.02, T0 + 1.1, ok=False,
                                 detail="table inet shieldwall was missing")
    report = build_report(record({"a": full_track("a", T0 + 0.2, T0 + 1.05), "b": bad}), T0 + 3)
    row = report.member("b")
    assert row is not None and not row.passed and not report.passed
    assert row.why == "enforce: table inet shieldwall was missing"
    assert report.on_all is None  # not every member blocked
    text = render_report(report)
    assert "FAILED" in text and "FAIL enforce: table inet shieldwall was missing" in text


def test_a_member_that_never_answered_has_stages_that_did_not_run() -> None:
    silent = Track()
    silent.failed["push"] = "the order never reached this member within 10 s"
    report = build_report(record({"a": full_track("a", T0 + 0.2, T0 + 1.05), "c": silent},
                                 aborted="c: accept stage over its limit"), T0 + 12)
    row = report.member("c")
    assert row is not None and [s.ok for s in row.stages] == [None] * 4 + [False, None, None]
    assert row.why == "push: the order never reached this member within 10 s"
    assert "aborted: c: accept" in render_report(report)


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
