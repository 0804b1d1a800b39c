"""R4: every configured source is alive, judged against what it usually shows.

A quiet log is not a dead one: an auth log may see a line a minute, a mail log one
an hour. Each source keeps a typical-gap estimate (:class:`GapEstimate`), updated
each time its last line is seen to have moved, and is stale only once its last line
is older than ``stale_factor`` times that gap (and than ``stale_min``).

The estimate is only as fine as the checks are frequent: from occasional
``shieldwall status`` runs each gap spans several writes, so it errs long, towards
fewer false alarms; checks run every few seconds by the agent make it close.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import msgspec

from shieldwall.readiness.verdict import Check, State, Thresholds, ago, checker, worst

_R4 = checker("R4", "sources alive")
#: Weight of the newest gap in the running estimate.
_WEIGHT = 0.2


class GapEstimate(msgspec.Struct, frozen=True):
    """A source's usual time between lines, from the moves of its last line seen so far."""

    typical: float = 0.0
    samples: int = 0
    last_seen: float | None = None


def update_gap(estimate: GapEstimate, last_line_at: float | None) -> GapEstimate:
    """The estimate once the source's last line was seen at ``last_line_at``."""
    if last_line_at is None:
        return estimate
    if estimate.last_seen is None or last_line_at <= estimate.last_seen:
        return msgspec.structs.replace(estimate, last_seen=max(last_line_at, estimate.last_seen or 0))
    gap = last_line_at - estimate.last_seen
    typical = gap if estimate.samples == 0 else (1 - _WEIGHT) * estimate.typical + _WEIGHT * gap
    return GapEstimate(typical=typical, samples=estimate.samples + 1, last_seen=last_line_at)


@dataclass(frozen=True)
class SourceView:
    """One configured source as probed: ``error`` when it cannot be read at all."""

    label: str
    error: str | None = None
    #: When its newest line was written (file: modification time; journal: entry time).
    last_line_at: float | None = None
    #: Why this source cannot be observed from here (degraded, not failing).
    unobserved: str | None = None


def stale_after(estimate: GapEstimate | None, limits: Thresholds) -> float:
    """How old a source's last line may be before it counts as stale."""
    if estimate is None or estimate.samples < limits.gap_samples:
        return float(limits.stale_default)
    return max(float(limits.stale_min), limits.stale_factor * estimate.typical)


def _judge(view: SourceView, estimate: GapEstimate | None, now: float,
           limits: Thresholds) -> tuple[State, str]:
    if view.error is not None:
        return "failing", f"{view.label}: {view.error}"
    if view.unobserved is not None:
        return "degraded", f"{view.label}: not observed: {view.unobserved}"
    if view.last_line_at is None:
        return "degraded", f"{view.label}: no line yet; check the service logs there"
    age = now - view.last_line_at
    limit = stale_after(estimate, limits)
    usual = (f"usually every {ago(estimate.typical)}"
             if estimate is not None and estimate.samples >= limits.gap_samples
             else "no usual gap known yet")
    if age > limit:
        return "degraded", (f"{view.label}: last line {ago(age)} ago ({usual}, stale after"
                            f" {ago(limit)}); is the service still logging there (rotation to"
                            " another path, logger stopped)?")
    return "ok", f"{view.label}: last line {ago(age)} ago ({usual})"


def check_sources(
    views: Sequence[SourceView], estimates: Mapping[str, GapEstimate], now: float,
    limits: Thresholds,
) -> Check:
    """R4: the worst configured source decides; the reason names the ones not ok."""
    if not views:
        return _R4("degraded", "no log source is configured: this member detects nothing;"
                               " add [[sources]] to agent.toml")
    judged = [_judge(v, estimates.get(v.label), now, limits) for v in views]
    state = worst([s for s, _ in judged])
    shown = [text for s, text in judged if s == state] if state != "ok" else [t for _, t in judged]
    return _R4(state, "; ".join(shown))
