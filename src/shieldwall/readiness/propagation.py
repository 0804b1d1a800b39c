"""Propagation of real decisions: detection -> block on every member expected to enforce it.

Pure: the ledger's records in (decisions with their evidence, the members' applied
reports from :mod:`shieldwall.readiness.applied`, readiness transitions, members),
figures out. Every time is the hub's clock: a member's times are corrected by the
skew its heartbeats showed (its clock minus the hub's; the estimate includes the
heartbeat's one-way transit, so a corrected time reads a few milliseconds late).

- **Detection** of a decision: the earliest ``last_seen`` (the log time of the event
  that completed a member's detection) among its evidence, each corrected by that
  member's skew. A time after the hub received that report is cut to the receipt; one
  more than :data:`DETECTION_HORIZON` before it is not a live detection (a replayed
  backlog, or a hostile time) and is left out. A decision left with no detection (an
  operator ban) is counted as ``undetected``, never measured.
- **Expected** members: those active when the decision was made, ready then (their
  last readiness transition at or before it was to ok or degraded: a member never
  heard from, or failing, is not expected), and not holding the target in their
  declared own ranges (the policy never blocks a member's own space on it).
- **Block on all**: when the last expected member reported applying it. Until every
  expected member has, the decision is ``waiting``, as is one no member was expected to
  enforce (a member whose local allowlist protects the target never reports it and
  keeps it waiting). A report earlier than
  the decision by more than :data:`SKEW_TOLERANCE` is impossible and ignored; one
  within it counts as the decision's own time.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shieldwall.readiness.applied import AppliedRecord

#: Seconds a detection may precede the hub's receipt of its report and still be live.
DETECTION_HORIZON = 300.0
#: Seconds a corrected applied time may precede the decision (skew estimate error).
SKEW_TOLERANCE = 1.0
READY = frozenset({"ok", "degraded"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """One member's report behind a decision: its detection time (member clock) and
    when the hub received it (hub clock)."""

    member: str
    last_seen: float
    received: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A real block decision to measure."""

    seq: int
    created: float
    target: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Member:
    """A member as the ledger holds it (only what the rule needs)."""

    name: str
    joined: float
    revoked_at: float | None = None
    owns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Figures:
    """Seconds from detection to block on all, one per measured decision (seq order),
    and how many decisions could not be measured, by why."""

    latencies: tuple[float, ...] = ()
    waiting: int = 0
    undetected: int = 0
    seqs: tuple[int, ...] = field(default=(), repr=False)
    #: The decisions still waiting for an expected member (or with none expected).
    unfinished: tuple[int, ...] = field(default=(), repr=False)


class Timeline:
    """Each member's readiness over time, from its transitions ``(member, at, after)``."""

    def __init__(self, transitions: Iterable[tuple[str, float, str]]) -> None:
        per: dict[str, list[tuple[float, str]]] = {}
        for member, at, after in transitions:
            per.setdefault(member, []).append((at, after))
        self._times = {m: [at for at, _ in sorted(v)] for m, v in per.items()}
        self._states = {m: [s for _, s in sorted(v)] for m, v in per.items()}

    def state_at(self, member: str, at: float) -> str:
        """The member's state at ``at`` (``unknown`` before its first transition)."""
        times = self._times.get(member, [])
        i = bisect.bisect_right(times, at)
        return "unknown" if i == 0 else self._states[member][i - 1]


def expected(candidate: Candidate, members: Sequence[Member], timeline: Timeline) -> frozenset[str]:
    """The members expected to enforce ``candidate`` (see the module docstring)."""
    network = _network(candidate.target)
    return frozenset(
        m.name for m in members
        if m.joined <= candidate.created
        and (m.revoked_at is None or m.revoked_at > candidate.created)
        and timeline.state_at(m.name, candidate.created) in READY
        and not (network is not None and _owns(m.owns, network))
    )


def detection(candidate: Candidate, skews: Mapping[str, float]) -> float | None:
    """The decision's detection time on the hub's clock (``None``: no live detection)."""
    times = []
    for e in candidate.evidence:
        at = min(e.last_seen - skews.get(e.member, 0.0), e.received)
        if at >= e.received - DETECTION_HORIZON:
            times.append(at)
    return min(times, default=None)


def measure(candidates: Iterable[Candidate], records: Iterable[AppliedRecord],
            members: Sequence[Member], timeline: Timeline,
            skews: Mapping[str, float] | None = None) -> Figures:
    """Detection -> block on all of each candidate (see the module docstring).

    ``skews`` are fallbacks for members without a record (the roster's estimate); a
    member's own records give its skew otherwise (the latest one).
    """
    listed = sorted(candidates, key=lambda c: c.seq)
    wanted = {c.seq for c in listed}
    applied: dict[tuple[str, int], float] = {}
    latest: dict[str, tuple[float, float]] = {}
    for r in records:
        if r.member not in latest or r.at > latest[r.member][0]:
            latest[r.member] = (r.at, r.skew)
        for seq, at in r.applied:
            if seq not in wanted:
                continue
            key = (r.member, seq)
            if key not in applied or at < applied[key]:
                applied[key] = at
    skew = {**(skews or {}), **{m: s for m, (_, s) in latest.items()}}
    latencies: list[float] = []
    seqs: list[int] = []
    unfinished: list[int] = []
    undetected = 0
    for c in listed:
        detected = detection(c, skew)
        if detected is None:
            undetected += 1
            continue
        who = expected(c, members, timeline)
        times = [applied.get((m, c.seq)) for m in who]
        done = [t for t in times if t is not None and t >= c.created - SKEW_TOLERANCE]
        if not who or len(done) < len(who):
            unfinished.append(c.seq)
            continue
        on_all = max(max(done), c.created)
        latencies.append(max(0.0, on_all - detected))
        seqs.append(c.seq)
    return Figures(tuple(latencies), len(unfinished), undetected, tuple(seqs),
                   tuple(unfinished))


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(target: str) -> Network | None:
    try:
        return ipaddress.ip_network(target, strict=False)
    except ValueError:
        return None


def _owns(owns: Iterable[str], network: Network) -> bool:
    for text in owns:
        own = _network(text)
        if own is not None and own.version == network.version and network.subnet_of(own):  # type: ignore[arg-type]
            return True
    return False
