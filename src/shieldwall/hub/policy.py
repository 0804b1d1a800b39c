"""The alliance's policy: which signals become decisions. Pure; ``now`` is passed in.

Rules, in the order :meth:`Policy.decide` applies them to one signal:

1. The target is canonicalised (``203.0.113.7/32`` -> ``203.0.113.7``).
2. Protections no signal overrides: a target overlapping a protected range
   (members' own ranges, the hub, the allowlist, never-block lists) is refused;
   so is a private, loopback, link-local or otherwise reserved target unless the
   operator sets ``allow_reserved``.
3. A retraction removes the member's own sightings of the target; a block that
   no longer has enough supporting members is lifted.
4. A ``confirmed`` scenario (and an operator ``ban``) decides on one member's
   word; other scenarios need a quorum of ``k`` distinct members within a
   window. Nothing wider than ``max_prefix_v4``/``max_prefix_v6`` is decided on
   one member's word: such a target needs at least two members.
5. An already active block is not decided again (the signal is kept as evidence).
6. Each member may cause at most ``member_decisions_per_hour`` new decisions.
7. Repeat offenders get ``duration * escalation ** previous_offenses``, capped.

The policy's memory (active blocks, offenses, quorum sightings, per-member
charges) is a cache of the ledger: :meth:`Policy.restore` rebuilds it from rows,
so the hub process holds nothing another replica could not rebuild.
"""

from __future__ import annotations

import tomllib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import msgspec

from shieldwall.errors import AddressError, ConfigError
from shieldwall.events.address import IPNetwork, parse_network
from shieldwall.hub.ledger.storage import PolicyRows
from shieldwall.hub.protections import Protections
from shieldwall.signals.signal import Signal
from shieldwall.signals.target import Target, parse_target

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class ScenarioRule:
    """How the alliance treats one scenario."""

    name: str
    #: Block duration in seconds (before repeat-offender escalation).
    duration: float
    #: One member's word is enough.
    confirmed: bool = False
    #: Distinct members needed within ``window`` when not confirmed.
    quorum: int = 2
    window: float = HOUR

    def needed(self) -> int:
        """How many distinct members must report the target."""
        return 1 if self.confirmed else max(1, self.quorum)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The operator's policy, parsed once from TOML (see ``default_policy.toml``)."""

    scenarios: Mapping[str, ScenarioRule]
    #: Rule for scenario names the table does not list.
    unknown: ScenarioRule = ScenarioRule("unknown", HOUR, confirmed=False, quorum=3)
    #: Duration of an operator ban that names none.
    manual_duration: float = DAY
    escalation: float = 2.0
    max_duration: float = 30 * DAY
    #: Offenses older than this are forgotten.
    offense_memory: float = 30 * DAY
    member_decisions_per_hour: int = 1000
    max_prefix_v4: int = 24
    max_prefix_v6: int = 48
    allow_reserved: bool = False

    def rule(self, scenario: str) -> ScenarioRule:
        """The rule for ``scenario``, or the rule for unknown scenarios."""
        return self.scenarios.get(scenario) or replace(self.unknown, name=scenario)

    def max_window(self) -> float:
        """The longest quorum window: how far back sightings must be remembered."""
        return max([self.unknown.window, *(r.window for r in self.scenarios.values())])


def load_policy(text: str | None = None, source: str = "policy") -> PolicyConfig:
    """Parse a policy TOML; ``None`` loads the shipped default table.

    Errors name the key path, e.g. ``policy: scenarios.ssh-bruteforce.duration``.
    """
    if text is None:
        text = resources.files("shieldwall.hub").joinpath("default_policy.toml").read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    limits = _table(data, "limits", source)
    escalation = _table(data, "escalation", source)
    scenarios: dict[str, ScenarioRule] = {}
    for name, raw in _table(data, "scenarios", source).items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: scenarios.{name} must be a table")
        scenarios[name] = _rule(name, raw, f"{source}: scenarios.{name}")
    unknown = _rule("unknown", _table(data, "unknown", source), f"{source}: unknown")
    return PolicyConfig(
        scenarios=scenarios,
        unknown=unknown,
        manual_duration=_number(limits, "manual_duration", DAY, f"{source}: limits"),
        escalation=_number(escalation, "factor", 2.0, f"{source}: escalation"),
        max_duration=_number(escalation, "max_duration", 30 * DAY, f"{source}: escalation"),
        offense_memory=_number(escalation, "memory", 30 * DAY, f"{source}: escalation"),
        member_decisions_per_hour=int(
            _number(limits, "member_decisions_per_hour", 1000, f"{source}: limits")
        ),
        max_prefix_v4=int(_number(limits, "max_prefix_v4", 24, f"{source}: limits")),
        max_prefix_v6=int(_number(limits, "max_prefix_v6", 48, f"{source}: limits")),
        allow_reserved=bool(limits.get("allow_reserved", False)),
    )


def _table(data: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {key} must be a table")
    return value


def _number(data: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}.{key} must be a non-negative number, not {value!r}")
    return float(value)


def _rule(name: str, raw: Mapping[str, Any], where: str) -> ScenarioRule:
    unknown_keys = set(raw) - {"duration", "confirmed", "quorum", "window"}
    if unknown_keys:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown_keys)}")
    confirmed = raw.get("confirmed", False)
    if not isinstance(confirmed, bool):
        raise ConfigError(f"{where}.confirmed must be true or false")
    quorum = int(_number(raw, "quorum", 2, where))
    if quorum < 1:
        raise ConfigError(f"{where}.quorum must be at least 1")
    return ScenarioRule(
        name=name,
        duration=_number(raw, "duration", HOUR, where),
        confirmed=confirmed,
        quorum=quorum,
        window=_number(raw, "window", HOUR, where),
    )


def canonical_target(text: str) -> tuple[str, IPNetwork]:
    """Canonical text of a target and its network: host routes become plain addresses."""
    network = parse_network(text)
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address), network
    return str(network), network


_RESERVED = Protections.reserved()


def is_reserved(network: IPNetwork) -> bool:
    """True when any part of ``network`` is not a public, unicast address."""
    return _RESERVED.protecting(network) is not None


def _reserved_span(target: Target) -> bool:
    return _RESERVED.protecting_span(target.version, target.low, target.high) is not None


class Contribution(msgspec.Struct, frozen=True):
    """One member's report that supports (or supported) a decision: its evidence."""

    member: str
    scenario: str
    count: int
    first_seen: float
    last_seen: float
    received: float
    reason: str = ""
    sample: tuple[str, ...] = ()


class Block(msgspec.Struct, frozen=True):
    """A new decision to block ``target`` until ``until``."""

    target: str
    until: float
    scenario: str
    origin: str
    #: The member whose word completed the decision (charged against its rate limit).
    charged: str
    offense: int
    evidence: tuple[Contribution, ...]


class Lift(msgspec.Struct, frozen=True):
    """A decision that ends the block on ``target``."""

    target: str
    scenario: str
    origin: str


class Outcome(msgspec.Struct, frozen=True):
    """What one signal led to: maybe a decision, always a note saying why."""

    decision: Block | Lift | None
    #: Short machine-readable note: decided, quorum 1/2, protected, reserved, too-wide,
    #: already-blocked, rate-limited, retracted, nothing-to-retract, lifted.
    note: str
    detail: str = ""


_RATE_LIMITED = Outcome(None, "rate-limited", "member reached its decisions-per-hour limit")


@dataclass(slots=True)
class ActiveBlock:
    """A block in force, with who supports it."""

    target: str
    until: float
    scenario: str
    needed: int
    supporters: set[str] = field(default_factory=set)


class Policy:
    """The policy engine: configuration, protections and the memory the rules need."""

    def __init__(self, config: PolicyConfig, protections: Protections) -> None:
        self.config = config
        self.protections = protections
        self.active: dict[str, ActiveBlock] = {}
        #: target -> (number of offenses, time of the last one)
        self.offenses: dict[str, tuple[int, float]] = {}
        #: (target, scenario) -> member -> contribution, for quorum scenarios
        self.sightings: dict[tuple[str, str], dict[str, Contribution]] = {}
        #: member -> times of the decisions it caused within the last hour
        self.charges: dict[str, deque[float]] = {}

    # -- rebuilding from the ledger ------------------------------------------------
    def restore(self, rows: PolicyRows, now: float) -> None:
        """Rebuild the policy's memory from ledger rows (decisions in cursor order)."""
        for stored in rows.decisions:
            d = stored.decision
            if d.action == "lift":
                self.active.pop(d.target, None)
                continue
            count, _ = self.offenses.get(d.target, (0, 0.0))
            self.offenses[d.target] = (count + 1, d.created)
            try:
                evidence = _contributions.decode(stored.evidence)
            except msgspec.DecodeError:
                evidence = []
            needed = 1 if d.origin == "operator" else self.config.rule(d.scenario).needed()
            self.active[d.target] = ActiveBlock(
                d.target, d.until, d.scenario, needed, {c.member for c in evidence}
            )
        for target in [t for t, a in self.active.items() if a.until <= now]:
            del self.active[target]
        for member, when in rows.charges:
            self.charges.setdefault(member, deque()).append(when)
        for signal in rows.signals:
            self.restore_signal(signal.member, signal.signal, signal.received)

    def restore_signal(self, member: str, signal: Signal, received: float) -> None:
        """Replay a recent signal's effect on quorum sightings (no decision is made)."""
        try:
            target, _ = canonical_target(signal.target)
        except AddressError:
            return
        if signal.kind == "retract":
            self._forget(member, target)
        elif signal.kind == "detection" and not self.config.rule(signal.scenario).confirmed:
            self._sight(member, target, signal, received)

    # -- the rules -----------------------------------------------------------------
    def decide(
        self, member: str, signal: Signal, now: float, span: Target | None = None
    ) -> Outcome:
        """Apply the rules to one signal from ``member`` received at ``now``.

        ``span`` is the signal's parsed target when the caller already has it.
        """
        if span is None:
            try:
                span = parse_target(signal.target)
            except AddressError as exc:
                return Outcome(None, "invalid", str(exc))
        target = span.text
        if signal.kind == "retract":
            return self._retract(member, target, now)
        guard = self._guard(span)
        if guard is not None:
            return guard

        if signal.kind == "ban":
            rule = ScenarioRule(
                signal.scenario,
                signal.duration or self.config.manual_duration,
                confirmed=True,
            )
        else:
            rule = self.config.rule(signal.scenario)
        needed = rule.needed()
        limit = self.config.max_prefix_v4 if span.version == 4 else self.config.max_prefix_v6
        if span.prefixlen < limit:
            # A wide range on one member's word could black out a whole network.
            needed = max(needed, 2)

        active = self.active.get(target)
        if active is not None and active.until > now:
            active.supporters.add(member)
            return Outcome(None, "already-blocked", f"blocked until {active.until:.0f}")

        if needed > 1:
            seen = self._sight(member, target, signal, now, window=rule.window)
            if len(seen) < needed:
                return Outcome(None, f"quorum {len(seen)}/{needed}", "waiting for more members")
            evidence = tuple(seen.values())
        else:
            evidence = ()

        charges = self.charges.get(member)
        if charges is None:
            charges = self.charges[member] = deque()
        while charges and charges[0] <= now - HOUR:
            charges.popleft()
        if len(charges) >= self.config.member_decisions_per_hour:
            return _RATE_LIMITED
        charges.append(now)
        if not evidence:
            evidence = (_contribution(member, signal, now),)

        count, last = self.offenses.get(target, (0, 0.0))
        if last < now - self.config.offense_memory:
            count = 0
        duration = rule.duration * self.config.escalation**count
        if signal.kind == "ban" and signal.duration:
            duration = signal.duration  # an operator's explicit duration is not escalated
        duration = min(duration, self.config.max_duration)
        self.offenses[target] = (count + 1, now)
        supporters = {c.member for c in evidence}
        self.active[target] = ActiveBlock(target, now + duration, rule.name, needed, supporters)
        self.sightings.pop((target, rule.name), None)
        block = Block(
            target=target,
            until=now + duration,
            scenario=rule.name,
            origin=",".join(sorted(supporters)),
            charged=member,
            offense=count + 1,
            evidence=evidence,
        )
        return Outcome(block, "decided", f"offense {count + 1}, {duration:.0f}s")

    def operator_lift(self, text: str, now: float) -> list[Lift]:
        """Lift every active block equal to or containing the address/range ``text``."""
        _, network = canonical_target(text)
        lifts: list[Lift] = []
        for target in list(self.active):
            _, blocked = canonical_target(target)
            if blocked.version == network.version and blocked.overlaps(network):
                del self.active[target]
                for key in [k for k in self.sightings if k[0] == target]:
                    del self.sightings[key]
                lifts.append(Lift(target, "operator-lift", "operator"))
        return lifts

    def explain_protection(self, network: IPNetwork) -> list[str]:
        """Why ``network`` can never be blocked (empty when it can)."""
        reasons = self.protections.all_protecting(network)
        if is_reserved(network) and not self.config.allow_reserved:
            reasons.append("reserved address space (private, loopback, link-local...)")
        return reasons

    # -- internals -----------------------------------------------------------------
    def _guard(self, span: Target) -> Outcome | None:
        label = self.protections.protecting_span(span.version, span.low, span.high)
        if label is not None:
            return Outcome(None, "protected", label)
        if not self.config.allow_reserved and _reserved_span(span):
            return Outcome(None, "reserved", "reserved ranges are never alliance-wide decisions")
        return None

    def _sight(
        self,
        member: str,
        target: str,
        signal: Signal,
        now: float,
        window: float | None = None,
    ) -> dict[str, Contribution]:
        if window is None:
            window = self.config.rule(signal.scenario).window
        seen = self.sightings.setdefault((target, signal.scenario), {})
        for other in [m for m, c in seen.items() if c.received < now - window]:
            del seen[other]
        seen[member] = _contribution(member, signal, now)
        return seen

    def _forget(self, member: str, target: str) -> int:
        forgotten = 0
        for key in [k for k in self.sightings if k[0] == target]:
            if self.sightings[key].pop(member, None) is not None:
                forgotten += 1
            if not self.sightings[key]:
                del self.sightings[key]
        return forgotten

    def _retract(self, member: str, target: str, now: float) -> Outcome:
        forgotten = self._forget(member, target)
        active = self.active.get(target)
        if active is not None and active.until > now and member in active.supporters:
            active.supporters.discard(member)
            if len(active.supporters) < active.needed:
                del self.active[target]
                return Outcome(Lift(target, "retracted", member), "lifted", "support withdrawn")
            return Outcome(None, "retracted", "other members still support the block")
        if forgotten:
            return Outcome(None, "retracted", "sightings withdrawn")
        return Outcome(None, "nothing-to-retract", "no block or sighting by this member")


_contributions = msgspec.json.Decoder(list[Contribution])


def _contribution(member: str, signal: Signal, now: float) -> Contribution:
    return Contribution(
        member=member,
        scenario=signal.scenario,
        count=signal.count,
        first_seen=signal.first_seen,
        last_seen=signal.last_seen,
        received=now,
        reason=signal.reason,
        sample=signal.evidence[:5],
    )
