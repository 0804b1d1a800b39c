"""Measured effectiveness of one rule version, from what the ledger holds (pure).

Inputs are plain records the hub reads from its ledger: the members' sightings
(every detection of an alliance rule, live or shadow), the other reports on the
same targets (signals of any scenario), the decisions on them, disputes and
CPU usage. :func:`figures` is deterministic, so anyone holding the same ledger
rows gets the same figures and the same report hash.

Definitions (README "The arsenal" repeats them):

- ``detections`` live/shadow: sightings of the rule in the window;
  ``targets``/``members``: distinct targets and reporting members.
- ``corroboration``: share of its targets that another member (any rule, this
  one included) or another rule or scenario (any member) also reported within an
  hour of the rule's first sighting of that target.
- ``earliness``: median over targets another rule or scenario also reported
  within the hour, of (that report's first time − the rule's first time): positive
  means this rule flagged the target sooner.
- ``protected_hits``: sightings of protected or allowlisted targets.
- ``lifted``: blocks that name this rule and that an operator lifted before they ran out.
- ``disputes``: disputes filed against this rule version.
- ``cpu_per_million``: CPU seconds per million lines, as agents measured it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Literal

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.signals.bounds import Name, Seconds, TargetText

CORROBORATION_WINDOW = 3600.0
Mode = Literal["live", "shadow"]


#: ``name@version``, as :attr:`shieldwall.arsenal.rule.Rule.id` writes it, or a shipped
#: scenario's ``name@<12 hex digits>`` (:func:`shieldwall.detection.scenario.scenario_version`).
RULE_ID = r"^[a-z0-9][a-z0-9-]*@([0-9]+|[0-9a-f]{12})$"
RuleId = Annotated[str, msgspec.Meta(max_length=64, pattern=RULE_ID)]


class Sighting(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One detection by an alliance rule on one member (``at``: log time it fired)."""

    rule: RuleId
    scenario: Name
    target: TargetText
    at: Seconds
    mode: Mode
    member: Name = ""


class OtherReport(msgspec.Struct, frozen=True):
    """Any report of a target: a stored signal, or another rule's sighting."""

    member: str
    label: str
    target: str
    at: float


class Usage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What running one rule cost one member since its last report."""

    rule: RuleId
    lines: Annotated[int, msgspec.Meta(ge=0, le=2**53)]
    cpu_seconds: Annotated[float, msgspec.Meta(ge=0.0, le=1e9)]
    member: Name = ""


class SightingBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a member reports to the hub: its alliance rules' detections and their CPU cost."""

    sightings: tuple[Sighting, ...] = ()
    usage: tuple[Usage, ...] = ()


class Figures(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The measured effectiveness of one rule version over ``[start, end)``."""

    rule: str
    start: float
    end: float
    detections_live: int
    detections_shadow: int
    targets: int
    members: int
    corroborated: int
    corroboration: float
    earliness: float | None
    protected_hits: int
    lifted: int
    disputes: int
    lines: int
    cpu_per_million: float | None

    @property
    def detections(self) -> int:
        """Live and shadow detections together."""
        return self.detections_live + self.detections_shadow


def _first(sightings: Iterable[Sighting]) -> dict[str, Sighting]:
    first: dict[str, Sighting] = {}
    for s in sightings:
        if s.target not in first or s.at < first[s.target].at:
            first[s.target] = s
    return first


def figures(
    rule: str,
    sightings: Sequence[Sighting],
    others: Sequence[OtherReport],
    decisions: Sequence[Decision],
    *,
    start: float,
    end: float,
    protected: Callable[[str], str | None] = lambda _t: None,
    disputes: int = 0,
    usage: Sequence[Usage] = (),
) -> Figures:
    """The figures of ``rule`` (``name@version``) over ``[start, end)``.

    ``sightings`` may hold every rule's sightings (other rules count as corroboration);
    ``others`` are the stored signals on the same targets; ``decisions`` the
    decision log on them (blocks naming ``rule``, operator lifts).
    """
    inside = [s for s in sightings if start <= s.at < end]
    mine = [s for s in inside if s.rule == rule]
    scenarios = {s.scenario for s in mine}
    first = _first(mine)
    # Every report but the rule's own sightings and signals counts as another rule's word;
    # any report (this rule's included) from another member counts as another member's.
    by_target: dict[str, list[OtherReport]] = {}
    for report in [*(OtherReport(s.member, s.rule, s.target, s.at) for s in inside), *others]:
        by_target.setdefault(report.target, []).append(report)
    corroborated = 0
    leads: list[float] = []
    for target, sighting in sorted(first.items()):
        near = [o for o in by_target[target] if abs(o.at - sighting.at) <= CORROBORATION_WINDOW]
        other_rule = [o for o in near if o.label != rule and o.label not in scenarios]
        other_member = [o for o in near if o.member != sighting.member]
        if other_rule or other_member:
            corroborated += 1
        if other_rule:
            leads.append(min(o.at for o in other_rule) - sighting.at)
    lines = sum(u.lines for u in usage if u.rule == rule)
    cpu = sum(u.cpu_seconds for u in usage if u.rule == rule)
    return Figures(
        rule=rule, start=start, end=end,
        detections_live=sum(1 for s in mine if s.mode == "live"),
        detections_shadow=sum(1 for s in mine if s.mode == "shadow"),
        targets=len(first),
        members=len({s.member for s in mine}),
        corroborated=corroborated,
        corroboration=round(corroborated / len(first), 6) if first else 0.0,
        earliness=round(statistics.median(leads), 3) if leads else None,
        protected_hits=sum(1 for s in mine if protected(s.target) is not None),
        lifted=lifted_blocks(rule, decisions),
        disputes=disputes,
        lines=lines,
        cpu_per_million=round(cpu / lines * 1e6, 6) if lines else None,
    )


def lifted_blocks(rule: str, decisions: Sequence[Decision]) -> int:
    """Blocks naming ``rule`` that an operator lifted before they ran out."""
    ordered = sorted(decisions, key=lambda d: d.cursor)
    count = 0
    for index, block in enumerate(ordered):
        if block.action != "block" or block.rule != rule:
            continue
        if any(d.action == "lift" and d.origin == "operator" and d.target == block.target
               and d.created < block.until for d in ordered[index + 1:]):
            count += 1
    return count


def encode_figures(value: Figures) -> bytes:
    """The canonical bytes of a report (what its hash in the signed target covers)."""
    return msgspec.json.encode(value)
