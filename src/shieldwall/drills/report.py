"""The drill report: per member and stage, pass or fail and how long; the alliance's figures.

Built, pure, from what the conductor recorded (:class:`Record`): each member's signed
stage reports with the hub time each arrived, and the hub's own decide and lift
times. Latencies that span two hosts (signal, push, lift) subtract a member's clock
from the hub's: exact in the lab, as good as the clock skew (readiness R6) elsewhere.
Detection -> block is measured from the alliance's first detection to the moment
each member read its drill element back from its firewall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from shieldwall.drills.order import OrderBody
from shieldwall.drills.stage import StageReport

#: The stages of a member's row, in order (``decide`` is the hub's, per member's signal).
ROW = ("accept", "detect", "signal", "decide", "push", "enforce", "lift")


@dataclass
class Track:
    """One member's reports as they arrived (hub time)."""

    reports: dict[str, StageReport] = field(default_factory=dict)
    received: dict[str, float] = field(default_factory=dict)
    #: Stages the conductor failed for this member (late, missing) and why.
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class Record:
    """Everything a drill's report is built from."""

    order: OrderBody
    started: float
    tracks: dict[str, Track]
    decided_at: float | None = None
    decision: int = 0
    lift_at: float | None = None
    lift: int = 0
    aborted: str = ""
    #: Who ordered it, as the report says (``chair alice``); the order's issuer if "".
    issuer: str = ""


class StageResult(msgspec.Struct, frozen=True):
    """One stage on one member: ``ok`` is ``None`` when the stage did not run."""

    stage: str
    ok: bool | None
    latency: float | None = None
    detail: str = ""


class MemberResult(msgspec.Struct, frozen=True):
    """One member's row."""

    member: str
    passed: bool
    stages: tuple[StageResult, ...]
    detect_to_block: float | None = None
    why: str = ""


class DrillReport(msgspec.Struct, frozen=True):
    """The whole drill; stored in the ledger's journal as ``drill.report``."""

    id: str
    target: str
    issuer: str
    issued: float
    started: float
    finished: float
    passed: bool
    stages: tuple[str, ...]
    members: tuple[MemberResult, ...]
    aborted: str = ""
    decision: int = 0
    lift: int = 0
    p50: float | None = None
    p99: float | None = None
    #: Detection -> block on every member (the slowest), when every member blocked.
    on_all: float | None = None

    def member(self, name: str) -> MemberResult | None:
        """The row of ``name``."""
        return next((m for m in self.members if m.member == name), None)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _expected(order: OrderBody, stage: str) -> bool:
    return stage == "accept" or order.runs(stage)


def _result(record: Record, track: Track, stage: str) -> StageResult:
    if stage in track.failed:
        return StageResult(stage, False, None, track.failed[stage])
    if stage == "decide":
        signalled = track.received.get("signal")
        if record.decided_at is None or signalled is None or not track.reports["signal"].ok:
            return StageResult(stage, None)
        latency = max(0.0, record.decided_at - signalled)
        return StageResult(stage, True, latency, "" if latency else "decided on an earlier signal")
    report = track.reports.get(stage)
    if report is None:
        return StageResult(stage, None)
    latency = report.latency
    if stage == "signal":
        latency = max(0.0, track.received[stage] - report.started)
    elif stage == "push" and record.decided_at is not None:
        latency = max(0.0, report.at - record.decided_at)
    elif stage == "lift" and record.lift_at is not None:
        latency = max(0.0, report.at - record.lift_at)
    return StageResult(stage, report.ok, latency, report.detail)


def build_report(record: Record, now: float) -> DrillReport:
    """The report of ``record`` as it stands at ``now``."""
    order = record.order
    detections = [t.reports["detect"].at for t in record.tracks.values()
                  if "detect" in t.reports and t.reports["detect"].ok]
    first = min(detections) if detections else None
    rows: list[MemberResult] = []
    blocked: list[float] = []
    for name in order.members:
        track = record.tracks[name]
        results = tuple(_result(record, track, s) for s in ROW if _expected(order, s))
        bad = [r for r in results if r.ok is not True]
        enforce = track.reports.get("enforce")
        to_block = None
        if enforce is not None and enforce.ok and first is not None:
            to_block = max(0.0, enforce.at - first)
            blocked.append(to_block)
        culprit = next((r for r in results if r.ok is False), bad[0] if bad else None)
        why = "" if culprit is None else f"{culprit.stage}: {culprit.detail or 'did not run'}"
        rows.append(MemberResult(name, not bad, results, to_block, why))
    passed = not record.aborted and all(r.passed for r in rows)
    return DrillReport(
        id=order.id, target=order.target, issuer=record.issuer or order.issuer, issued=order.issued,
        started=record.started, finished=now, passed=passed, stages=order.stages,
        members=tuple(rows), aborted=record.aborted, decision=record.decision,
        lift=record.lift, p50=percentile(blocked, 50), p99=percentile(blocked, 99),
        on_all=max(blocked) if blocked and len(blocked) == len(rows) else None,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def render_report(report: DrillReport) -> str:
    """The report as text for people."""
    verdict = "PASSED" if report.passed else "FAILED"
    lines = [f"drill {report.id} on {report.target}: {verdict}"
             f" ({len(report.members)} members, stages {','.join(report.stages)},"
             f" ordered by the {report.issuer})"]
    if report.aborted:
        lines.append(f"  aborted: {report.aborted}")
    lines.append(f"  detection -> block: p50 {_ms(report.p50)}, p99 {_ms(report.p99)},"
                 f" on all {_ms(report.on_all)}")
    header = [s for s in ROW if any(r.stage == s for m in report.members for r in m.stages)]
    lines.append("  " + f"{'member':<16}" + "".join(f"{s:>10}" for s in header) + "  result")
    for row in report.members:
        cells = {r.stage: r for r in row.stages}
        text = ""
        for stage in header:
            r = cells.get(stage)
            cell = "-" if r is None or r.ok is None else (
                "FAIL" if not r.ok else _ms(r.latency).replace(" ", ""))
            text += f"{cell:>10}"
        lines.append(f"  {row.member:<16}{text}  {'pass' if row.passed else 'FAIL ' + row.why}")
    return "\n".join(lines)
