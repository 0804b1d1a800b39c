"""The pure evaluation: what the probes saw, and ``now``, in; a :class:`Verdict` out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shieldwall.readiness.link import HubView, check_clock, check_hub, check_lag
from shieldwall.readiness.liveness import GapEstimate, SourceView, check_sources
from shieldwall.readiness.outbox import OutboxView, check_outbox
from shieldwall.readiness.table import EnforcementView, check_table
from shieldwall.readiness.verdict import DEFAULT_THRESHOLDS, Thresholds, Verdict
from shieldwall.readiness.versions import DrillView, VersionView, check_drill, check_versions


@dataclass(frozen=True)
class Observation:
    """Everything the probes gathered for one evaluation."""

    hub: HubView = field(default_factory=HubView)
    enforcement: EnforcementView = field(default_factory=EnforcementView)
    sources: tuple[SourceView, ...] = ()
    gaps: Mapping[str, GapEstimate] = field(default_factory=dict)
    versions: VersionView = field(default_factory=VersionView)
    outbox: OutboxView = field(default_factory=OutboxView)
    drill: DrillView | None = None
    #: Whether the alliance ever ran a drill, as the hub last said (``None``: unknown).
    alliance_drilled: bool | None = None


def evaluate(
    seen: Observation,
    now: float,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    *,
    full: bool = False,
    seed: int = 0,
) -> Verdict:
    """R1-R8 in order; ``full`` compares every block of R3, not a sample."""
    return Verdict(at=now, checks=(
        check_hub(seen.hub, now, limits),
        check_lag(seen.hub, seen.outbox.cursor, limits),
        check_table(seen.enforcement, now, limits.table_sample, full, seed),
        check_sources(seen.sources, seen.gaps, now, limits),
        check_versions(seen.versions),
        check_clock(seen.hub, limits),
        check_outbox(seen.outbox, limits),
        check_drill(seen.drill, now, limits, seen.alliance_drilled),
    ))
