"""The agent's pure core: log chunks and decisions in, commands out.

Nothing here touches a socket, a file, the firewall or the clock: ``now`` is an
argument and every effect is a command for :mod:`.runtime` to carry out
(mitmproxy's proxy layers work the same way). That makes the member's whole
decision logic testable as plain function calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shieldwall.addresses import (
    Ranges,
    canonical_target,
    is_drill_target,
    is_range,
    target_network,
)
from shieldwall.decisions.decision import Decision
from shieldwall.detection.detection import Detection
from shieldwall.detection.detector import Detector
from shieldwall.detection.proxies import ProxyGuard, UserAgentSpread
from shieldwall.detection.scenario import Scenario, scenario_version
from shieldwall.detection.source_filter import SourceFilter
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.plan import Plan, firewall_blocks
from shieldwall.errors import AddressError
from shieldwall.events.attempts import DEFAULT_MAX_AUTH_TRIES
from shieldwall.events.event import Event
from shieldwall.events.packs import PackSpec
from shieldwall.events.stream import EventStream
from shieldwall.governance.standing import decided_under
from shieldwall.signals.signal import Signal

# ---- commands ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """Queue these signals durably and send them to the hub."""

    signals: tuple[Signal, ...]


@dataclass(frozen=True, slots=True)
class Enforce:
    """Apply this change to the enforcer, in one transaction."""

    plan: Plan


@dataclass(frozen=True, slots=True)
class Remember:
    """Persist these blocks (and forget these targets) so a restart re-applies them."""

    put: tuple[Block, ...] = ()
    forget: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SaveCursor:
    """Every decision up to ``cursor`` has been handled."""

    cursor: int


@dataclass(frozen=True, slots=True)
class Note:
    """Something an operator (or the demo's timeline) wants to see in the log."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


Command = Report | Enforce | Remember | SaveCursor | Note


def signal_of(detection: Detection, rule: str = "") -> Signal:
    """The signal a detection becomes (evidence bounded, decoded for JSON), naming the rule
    version that fired (``rule``, unless the detection names its own)."""
    return Signal(
        kind="detection",
        target=detection.key,
        scenario=detection.scenario,
        rule=detection.rule or rule,
        count=detection.count,
        first_seen=detection.first_seen,
        last_seen=detection.last_seen,
        evidence=tuple(line.decode("utf-8", "replace")[:512] for line in detection.evidence),
    )


class AgentCore:
    """Composes the member's pure stages and keeps the set of active blocks."""

    def __init__(
        self,
        scenarios: Iterable[Scenario],
        *,
        detect_allow: Ranges | None = None,
        enforce_allow: Ranges | None = None,
        ipv6_prefix: int = 64,
        local_first: bool = True,
        blocks: Mapping[str, Block] | None = None,
        cursor: int = 0,
        guard: ProxyGuard | None = None,
        reorder: float = 0.0,
    ) -> None:
        self.detector = Detector(scenarios, detect_allow)
        #: Declared proxies and this host's own addresses: never blamed (detection/proxies.py).
        self.guard = guard or ProxyGuard()
        #: Seconds of log time a source's lines are put back in order within (detection/reorder.py);
        #: 0 by default: live lines come nearly in order, and holding them would delay a local
        #: block by the bound (``replay`` uses DEFAULT_BOUND).
        self.reorder = reorder
        self.filters: dict[str, SourceFilter] = {}
        #: This host's sovereignty: never blocked here, whatever the alliance decides.
        self.enforce_allow = enforce_allow or Ranges()
        self.ipv6_prefix = ipv6_prefix
        self.local_first = local_first
        self.blocks: dict[str, Block] = dict(blocks or {})
        #: What the block store holds, as far as this core knows: what it was given
        #: plus its own Remember commands. The difference to a fresh read of the
        #: store is what someone else (``shieldwall ban``/``unban``/``import``) changed.
        self.stored: dict[str, Block] = dict(self.blocks)
        self.cursor = cursor
        #: The cursor of the last decision whose block this member's firewall holds once
        #: its commands ran (readiness reports when it was applied: readiness/applied.py).
        self.held = 0
        self.streams: dict[str, list[EventStream]] = {}
        self.rules: dict[str, str] = {}

    def add_source(self, label: str, packs: Iterable[PackSpec], year: int,
                   max_auth_tries: int = DEFAULT_MAX_AUTH_TRIES) -> None:
        """Register a source; ``year`` dates syslog lines that carry none; ``max_auth_tries``
        is its server's MaxAuthTries (what a connection that ran out of them stands for)."""
        self.streams[label] = [
            EventStream(pack, year=year, ipv6_prefix=self.ipv6_prefix, max_auth_tries=max_auth_tries)
            for pack in packs
        ]
        known = {s.pack.name: s.pack for streams in self.streams.values() for s in streams}
        #: scenario -> the rule version its detections name (the packs it reads here included).
        self.rules = {state.scenario.name: scenario_version(state.scenario, known.values())
                      for state in self.detector.states}
        self.filters[label] = SourceFilter(
            self.guard, self.reorder, access=any(s.pack.format == "access" for s in self.streams[label])
        )

    def startup(self, now: float) -> list[Command]:
        """What to enforce when the agent starts: every block still active."""
        active = {t: b for t, b in self.blocks.items() if b.active(now)}
        expired = tuple(t for t in self.blocks if t not in active)
        self.blocks = active
        commands: list[Command] = [Enforce(Plan(add=tuple(active.values()), rebuild=True))]
        if expired:
            commands.append(self._remember(forget=expired))
        return commands

    def lines(self, label: str, chunk: bytes, now: float) -> list[Command]:
        """Complete log lines from one source: detect, report, maybe block at once."""
        events: list[Event] = []
        for stream in self.streams[label]:
            events += stream.feed(chunk)
        due, suspects = self.filters[label].feed(events, chunk, now)
        commands: list[Command] = [
            Note("proxy.suspected", {"source": label, "ip": ip, "why": UserAgentSpread.warning(ip)})
            for ip in suspects
        ]
        return commands + self._detected(label, self.detector.feed(due) if due else [], now)

    def _detected(self, label: str, detections: list[Detection], now: float) -> list[Command]:
        """Note, report and (local first) block what a source's events crossed."""
        if not detections:
            return []
        commands: list[Command] = []
        for detection in detections:
            commands.append(Note("detection", {
                "ip": detection.key, "scenario": detection.scenario,
                "count": detection.count, "source": label,
            }))
        commands.append(Report(tuple(signal_of(d, self.rules.get(d.scenario, "")) for d in detections)))
        if self.local_first:
            local = [
                Block(
                    target=canonical_target(d.key),
                    until=now + d.local_block,
                    origin="local",
                    scenario=d.scenario,
                    reason=f"{d.count} events, rule {d.rule or self.rules.get(d.scenario, '-')}",
                    created=now,
                )
                for d in detections
                if d.local_block is not None
            ]
            commands += self._add(local, now)
        return commands

    def decision(self, decision: Decision, now: float) -> list[Command]:
        """One decision from the hub's log, in cursor order."""
        commands: list[Command] = []
        if decision.cursor <= self.cursor:
            return commands  # already handled: the log is applied exactly once
        self.cursor = decision.cursor
        fields = {"cursor": decision.cursor, "action": decision.action,
                  "target": decision.target, "scenario": decision.scenario,
                  "origin": decision.origin, "created": decision.created}
        commands.append(Note("decision", fields))
        try:
            target = canonical_target(decision.target)
        except AddressError:
            commands.append(Note("decision.skipped", {**fields, "reason": "not an address"}))
            commands.append(SaveCursor(decision.cursor))
            return commands
        if decision.drill and not is_drill_target(target_network(target)):
            # A drill names documentation addresses only (shieldwall.drills): never a real one.
            commands.append(Note("decision.skipped", {**fields, "reason": "drill outside the"
                                                      " documentation ranges"}))
            commands.append(SaveCursor(decision.cursor))
            return commands
        if decision.action == "lift":
            if target in self.blocks:
                del self.blocks[target]
                commands.append(Enforce(self._plan((), (target,), now)))
                commands.append(self._remember(forget=(target,)))
                commands.append(Note("block.lifted", {"target": target}))
        elif decision.until > now:
            block = Block(
                target=target,
                until=decision.until,
                origin=decision.origin or "hub",
                scenario=decision.scenario,
                # Under a council: the charter version and the rule that decided.
                reason=decided_under(decision) if decision.policy or decision.rule else "",
                created=decision.created or now,
            )
            commands += self._add([block], now)
            if target in self.blocks:  # added now, or already held at least as long
                self.held = decision.cursor
        commands.append(SaveCursor(decision.cursor))
        return commands

    def expire(self, now: float) -> list[Command]:
        """Forget blocks that ran out (the firewall's own timeouts remove them there), and
        release the events a source quiet for the reorder bound still holds."""
        released: list[Command] = []
        for label, source in self.filters.items():
            held = source.idle(now)
            if held:
                released += self._detected(label, self.detector.feed(held), now)
        gone = tuple(t for t, b in self.blocks.items() if not b.active(now))
        for target in gone:
            del self.blocks[target]
        if not gone:
            return released
        return [*released, Enforce(self._plan((), gone, now)), self._remember(forget=gone)]

    def store_changed(self, stored: Mapping[str, Block], now: float) -> list[Command]:
        """The block store now holds ``stored`` (its active blocks): follow what others changed.

        The store is the member's one desired state: an operator's ban, unban or
        import written by the CLI while the agent runs is enforced (or lifted)
        here, so a later repair or export cannot drop it. This member's own
        allowlist still wins over a stored block.
        """
        before, self.stored = self.stored, dict(stored)
        # A block that merely ran out is left to expire() (the firewall's timeout
        # already removed it; deleting it again would fail and force a repair).
        gone = tuple(
            t for t in before
            if t not in stored and t in self.blocks and self.blocks[t].active(now)
        )
        for target in gone:
            del self.blocks[target]
        commands: list[Command] = []
        added: list[Block] = []
        replaced: set[str] = set()
        for target, block in stored.items():
            current = self.blocks.get(target)
            if before.get(target) == block or current == block or not block.active(now):
                continue
            protected = self.enforce_allow.protecting(target_network(target))
            if protected is not None:
                commands.append(Note("block.skipped", {
                    "target": target, "reason": f"protected here: {protected}",
                }))
                continue
            if current is not None:
                replaced.add(target)
            self.blocks[target] = block
            added.append(block)
        if not added and not gone:
            return commands
        notes = [Note("block.applied", {"target": b.target, "until": b.until,
                                        "origin": b.origin, "scenario": b.scenario})
                 for b in added]
        notes += [Note("block.lifted", {"target": t}) for t in gone]
        return [Enforce(self._plan(added, gone, now, frozenset(replaced))), *notes, *commands]

    def _remember(self, put: tuple[Block, ...] = (), forget: tuple[str, ...] = ()) -> Remember:
        for block in put:
            self.stored[block.target] = block
        for target in forget:
            self.stored.pop(target, None)
        return Remember(put=put, forget=forget)

    def _plan(
        self, added: Iterable[Block], removed: Iterable[str], now: float,
        replaced: frozenset[str] = frozenset(),
    ) -> Plan:
        """One transaction for a change already made to :attr:`blocks`.

        Single addresses change element by element; an element re-added with a
        new expiry is removed first in the same batch, because re-adding an
        existing element keeps its old timeout. When a range changes, the range
        sets are replaced whole (nft refuses overlapping range elements within
        one batch, and nested ranges are left to their outer range).
        """
        added = tuple(added)
        removed = tuple(removed)
        singles = tuple(b for b in added if not is_range(b.target))
        gone = tuple(t for t in removed if not is_range(t)) + tuple(
            b.target for b in singles if b.target in replaced
        )
        if not any(is_range(b.target) for b in added) and not any(is_range(t) for t in removed):
            return Plan(add=singles, remove=gone)
        ranges = {t: b for t, b in self.blocks.items() if is_range(t)}
        return Plan(add=singles, remove=gone,
                    ranges=tuple(firewall_blocks(ranges, now).values()))

    def _add(self, blocks: Iterable[Block], now: float) -> list[Command]:
        added: list[Block] = []
        replaced: set[str] = set()
        commands: list[Command] = []
        for block in blocks:
            protected = self.enforce_allow.protecting(target_network(block.target))
            if protected is not None:
                # This member's own allowlist always wins over any decision.
                commands.append(Note("block.skipped", {
                    "target": block.target, "reason": f"protected here: {protected}",
                }))
                continue
            current = self.blocks.get(block.target)
            if current is not None:
                if current.until >= block.until:
                    continue
                replaced.add(block.target)
            self.blocks[block.target] = block
            added.append(block)
        if added:
            # The note follows the firewall change at once: persisting the
            # block comes after, so "applied" times what the firewall holds.
            applied: list[Command] = [Enforce(self._plan(added, (), now, frozenset(replaced)))]
            applied += [
                Note("block.applied", {
                    "target": block.target, "until": block.until,
                    "origin": block.origin, "scenario": block.scenario,
                })
                for block in added
            ]
            applied.append(self._remember(put=tuple(added)))
            commands = applied + commands
        return commands
