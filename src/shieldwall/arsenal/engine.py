"""Running the alliance's rules on a member's lines (pure: chunks and ``now`` in).

Each active rule gets its own event stream and detector over the lines of the
sources that read its ``reads`` pack, beside (never inside) the member's own
packs and scenarios, which keep working unchanged. What a detection becomes
depends on the rule's (effective) status alone:

- ``experimental``: a shadow sighting for the hub, and nothing else: no signal
  for the policy, no local block (the rule has not earned the right to block);
- ``test``/``stable``: a live sighting, plus a signal (the policy decides for the
  alliance) and, when the scenario says so, this host's own ``local_block``.

Swapping in a new set keeps nothing of the old rules' windows (a new version is
a new rule); a rule whose version did not change keeps its state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shieldwall.addresses import Ranges
from shieldwall.arsenal.active import ActiveRule, ActiveSet
from shieldwall.arsenal.figures import Mode, Sighting
from shieldwall.arsenal.status import enforces, runs
from shieldwall.detection.detection import Detection
from shieldwall.detection.detector import Detector
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream


@dataclass
class _Run:
    active: ActiveRule
    stream: EventStream
    detector: Detector
    lines: int = 0


@dataclass(frozen=True)
class Found:
    """One detection by an alliance rule: its sighting, and the detection if it enforces."""

    sighting: Sighting
    detection: Detection | None


@dataclass
class Engine:
    """The active alliance rules of one member."""

    year: int
    exempt: Ranges = field(default_factory=Ranges)
    ipv6_prefix: int = 64
    runs: dict[str, _Run] = field(default_factory=dict)
    version: int = 0

    def load(self, active: ActiveSet) -> list[str]:
        """Make ``active`` the running set; returns the rule ids started."""
        effective = {a.rule.id: a.effective for a in active.rules}
        kept = {rid: run for rid, run in self.runs.items() if effective.get(rid) == run.active.effective}
        started = []
        for item in active.rules:
            if not runs(item.effective) or item.rule.id in kept:
                continue
            pack = item.rule.pack or load_pack(item.rule.reads)
            kept[item.rule.id] = _Run(
                item,
                EventStream(pack, year=self.year, ipv6_prefix=self.ipv6_prefix),
                Detector(item.rule.scenarios, self.exempt),
            )
            started.append(item.rule.id)
        self.runs = kept
        self.version = active.version
        return started

    def reading(self, pack: str) -> list[str]:
        """Ids of the running rules that read sources of ``pack``."""
        return [rid for rid, run in self.runs.items() if run.active.rule.reads == pack]

    def feed(self, rule_id: str, chunk: bytes) -> list[Found]:
        """Complete lines of a source for one rule: its sightings (and live detections)."""
        run = self.runs[rule_id]
        run.lines += chunk.count(b"\n")
        events = run.stream.feed(chunk)
        if not events:
            return []
        live = enforces(run.active.effective)
        mode: Mode = "live" if live else "shadow"
        found = []
        # One event at a time (events are few beside lines): a sighting is dated by the event
        # that crossed the threshold, which earliness compares, while the detection itself
        # goes on counting the rest of the chunk.
        for event in events:
            for d in run.detector.feed((event,)):
                d.rule = rule_id  # its signal, and the decision it may cause, name this version
                found.append(Found(Sighting(rule_id, d.scenario, d.key, event.time, mode),
                                   d if live else None))
        return found

    def lines_read(self) -> dict[str, int]:
        """Lines each running rule has read, then zeroed (for usage reports)."""
        out = {rid: run.lines for rid, run in self.runs.items()}
        for run in self.runs.values():
            run.lines = 0
        return out


def detections_of(found: Iterable[Found]) -> list[Detection]:
    """The live detections among ``found`` (what may become signals and local blocks)."""
    return [f.detection for f in found if f.detection is not None]
