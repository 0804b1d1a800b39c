"""The alliance's policy: which signals become decisions. Pure; ``now`` is passed in.

Rules, in the order :meth:`Policy.decide` applies them to one signal:

1. The target is canonicalised (``203.0.113.7/32`` -> ``203.0.113.7``).
2. Protections no signal overrides: a target overlapping a protected range
   (members' own ranges, the hub, the allowlist, never-block lists) is refused;
   so is a private, loopback, link-local or otherwise reserved target unless the
   operator sets ``allow_reserved``.
3. A retraction removes the member's own sightings of the target; a block that
   no longer has enough supporting members is lifted.
4. Nothing wider than ``max_prefix_v4``/``max_prefix_v6`` is decided by members,
   however many agree (``too-wide``): only the operator (or, later, the council)
   blocks wider ranges.
5. A ``confirmed`` scenario decides on one member's word; other scenarios need
   a quorum of ``k`` distinct members within a window (members in ``discounted``,
   not ready for too long, are not counted). A member's ``ban`` is its
   own word and follows its scenario's rule like a detection; only an operator's
   ban decides at once with the duration it names.
6. For ``lift_cooldown`` (policy ``[limits]``) after an operator lifted a target, re-blocking it needs
   two distinct members: one member's next signal cannot undo the lift.
7. An already active block is not decided again (the signal is kept as evidence).
8. Each member may cause at most ``member_decisions_per_hour`` new decisions.
9. Repeat offenders get ``duration * escalation ** previous_offenses``, capped;
   a block the operator lifted does not count as an offense.

Trust (policy ``[trust]``, :mod:`shieldwall.hub.trust`), unless the signal is an
operator's: a member that reports a canary is quarantined (``canary``); a
quarantined or not-ready member's signal counts for nothing; a member on
probation decides alliance-wide only with a trusted member's corroboration
(``probation``), a quorum needs at least one trusted member, and a scenario with
a ``weight`` needs that much summed trust weight. The widest prefix, the
decisions per hour and the longest duration scale with the weight of the most
trusted supporter. With ``solo_duration``, a block on one member's word is
provisional: that long, extended (a new decision, the same offense) when another
member whose word counts reports the target, and each member holds at most
``solo_open`` x weight of them open (``unconfirmed`` past that); members on
probation with a vetted record (:meth:`Trust.vetted`) make them too, and with
``solo_quorum`` so does a trusted member's first report of a listed quorum
scenario. Disputes are :mod:`shieldwall.hub.disputes`.

The policy's memory (active blocks, offenses, quorum sightings, per-member
charges, recent lifts) is a cache of the ledger: :meth:`Policy.restore` rebuilds
it from rows, so the hub process holds nothing another replica could not
rebuild. :meth:`Policy.sweep` drops what has aged out of every window, and each
member's live sightings are capped, so the memory is proportional to what is
live, never to history.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from math import ceil
from typing import TYPE_CHECKING, Literal

import msgspec

from shieldwall.addresses import (
    RESERVED,
    IntervalIndex,
    IPNetwork,
    Ranges,
    Target,
    is_reserved,
    parse_target,
)
from shieldwall.errors import AddressError
from shieldwall.hub.policy_config import HOUR, PolicyConfig, ScenarioRule
from shieldwall.hub.policy_config import load_policy as load_policy  # where callers look for it
from shieldwall.hub.policy_values import (
    DISPUTE_LIFT,
    NOT_COUNTED,
    OPERATOR_LIFT,
    RATE_LIMITED,
    SAMPLE_CHARS,
    SAMPLE_LINES,
    ActiveBlock,
    Block,
    Contribution,
    Lift,
    Outcome,
    OutcomeKind,
    canonical_target,
    contribution,
    contributions,
    reserved_span,
    too_wide,
)
from shieldwall.hub.protections import Protections
from shieldwall.hub.trust import Trust, TrustEvent
from shieldwall.signals.signal import Signal

#: Where callers look for the policy's names (the values live in hub.policy_values).
__all__ = [
    "DISPUTE_LIFT", "NOT_COUNTED", "OPERATOR_LIFT", "SAMPLE_CHARS", "SAMPLE_LINES",
    "ActiveBlock", "Block", "Contribution", "Lift", "Outcome", "OutcomeKind", "Policy",
    "PolicyConfig", "ScenarioRule", "canonical_target", "load_policy",
]

if TYPE_CHECKING:
    from shieldwall.hub.policy_view import PolicyRows


class Policy:
    """The policy engine: configuration, protections and the memory the rules need."""

    def __init__(
        self, config: PolicyConfig, protections: Protections, max_sightings: int | None = None,
        trust: Trust | None = None, canaries: Ranges | None = None,
    ) -> None:
        self.config = config
        self._screen: dict[int, IntervalIndex] | None = None
        self._protections = protections
        self.trust = trust if trust is not None else Trust(config.trust)
        self._canaries = canaries if canaries is not None else config.canaries
        #: Trust records made since the driver last took them (journal kind "trust").
        self.events: list[TrustEvent] = []
        self.lift_cooldown = config.lift_cooldown
        self.max_sightings = max_sightings or config.max_sightings_per_member
        self.active: dict[str, ActiveBlock] = {}
        #: target -> (number of offenses, time of the last one)
        self.offenses: dict[str, tuple[int, float]] = {}
        #: (target, scenario) -> member -> contribution, for quorum scenarios
        self.sightings: dict[tuple[str, str], dict[str, Contribution]] = {}
        #: member -> how many entries of :attr:`sightings` are its
        self.sighted: dict[str, int] = {}
        #: member -> times of the decisions it caused within the last hour
        self.charges: dict[str, deque[float]] = {}
        #: target -> when the operator last lifted it (within the cool-down)
        self.lifted: dict[str, float] = {}
        #: target -> member -> weight of its dispute (see hub.disputes)
        self.disputes: dict[str, dict[str, float]] = {}
        #: member -> targets of its provisional blocks (one member's word, not corroborated)
        self.provisional: dict[str, set[str]] = {}
        # The trust record counts a member's live sightings as not (yet) corroborated.
        self.trust.pending = self.sighted

    @property
    def protections(self) -> Protections:
        """Ranges no signal may block (members' own, the hub's, the allowlist...)."""
        return self._protections

    @protections.setter
    def protections(self, value: Protections) -> None:
        self._protections, self._screen = value, None

    @property
    def canaries(self) -> Ranges:
        """Secret benign addresses: reporting one quarantines the member."""
        return self._canaries

    @canaries.setter
    def canaries(self, value: Ranges) -> None:
        self._canaries, self._screen = value, None

    def _screened(self) -> dict[int, IntervalIndex]:
        """Per IP version, every range a signal's target is screened against: canaries,
        protections and (unless allowed) reserved space, merged. A target touching none
        of them skips all three checks (one bisect instead of several lookups: most
        targets touch nothing); one touching any takes the checks in their order."""
        listed = [*self._canaries.entries, *self._protections.entries]
        if not self.config.allow_reserved:
            listed += RESERVED.entries
        self._screen = {
            version: IntervalIndex.build(
                (int(e.network.network_address), int(e.network.broadcast_address))
                for e in listed if e.network.version == version)
            for version in (4, 6)
        }
        return self._screen

    @property
    def discounted(self) -> frozenset[str]:
        """Members whose reports do not count now (not ready for too long: the hub's
        readiness roster sets it). Their sightings are still kept."""
        return self.trust.not_ready

    @discounted.setter
    def discounted(self, members: frozenset[str]) -> None:
        self.trust.not_ready = members

    def take_events(self) -> list[TrustEvent]:
        """The trust records made since the last call (the driver journals them)."""
        events, self.events = self.events, []
        return events

    def sizes(self) -> dict[str, int]:
        """How many entries each memory holds (for tests and the metrics)."""
        return {
            "active": len(self.active), "offenses": len(self.offenses),
            "sightings": sum(len(s) for s in self.sightings.values()),
            "sighting_keys": len(self.sightings), "sighted": len(self.sighted),
            "charges": sum(len(c) for c in self.charges.values()),
            "charged_members": len(self.charges), "lifted": len(self.lifted),
        }

    # -- rebuilding from the ledger ------------------------------------------------
    def restore(
        self, rows: PolicyRows, now: float, events: Sequence[TrustEvent] = ()
    ) -> None:
        """Rebuild the policy's memory from ledger rows (decisions in cursor order)
        and the trust journal's ``events``, replayed in time order between them."""
        pending = deque(sorted(events, key=lambda e: e.at))
        self.trust.recorded_from = now  # the vetting record starts again here
        for stored in rows.decisions:
            d = stored.decision
            while pending and pending[0].at <= d.created:
                self.trust.apply(pending.popleft())
            if d.drill:
                continue  # a drill's decision is never a real block (see shieldwall.drills)
            if d.action == "lift":
                block = self.active.pop(d.target, None)
                if d.scenario in (OPERATOR_LIFT, DISPUTE_LIFT):
                    if block is not None:
                        why: Literal["lift", "dispute"] = (
                            "lift" if d.scenario == OPERATOR_LIFT else "dispute")
                        self.trust.penalise(block.deciders, why)
                    self._forgive(d.target, d.created)
                continue
            try:
                evidence = contributions.decode(stored.evidence)
            except msgspec.DecodeError:
                evidence = []
            deciders = frozenset(c.member for c in evidence)
            earlier = self.active.get(d.target)
            if earlier is not None and earlier.full and earlier.until > d.created:
                self._extended(earlier, d.until, deciders)  # a corroborated provisional block
                continue
            count, _ = self.offenses.get(d.target, (0, 0.0))
            self.offenses[d.target] = (count + 1, d.created)
            rule = self.config.rule(d.scenario)
            needed = 1 if d.origin == "operator" else rule.needed()
            block = self.active[d.target] = ActiveBlock(
                d.target, d.until, d.scenario, needed, set(deciders), deciders, d.created
            )
            if d.origin == "operator":
                continue
            self.trust.corroborated(deciders)
            solo = self.trust.config.solo_duration
            if (solo > 0 and rule.duration > solo and d.until - d.created <= solo + 1e-6
                    and stored.charged):
                block.full = min(rule.duration * self.config.escalation**count,
                                 self.config.max_duration)
                self.trust.solo(stored.charged)
                self._provisional(stored.charged, d.target)
        while pending:
            self.trust.apply(pending.popleft())
        for member, when in rows.charges:
            self.charges.setdefault(member, deque()).append(when)
        for signal in rows.signals:
            self.restore_signal(signal.member, signal.signal, signal.received, signal.outcome)
        self.sweep(now)

    def restore_signal(
        self, member: str, signal: Signal, received: float, outcome: str = ""
    ) -> None:
        """Replay a recent signal's effect on quorum sightings (no decision is made)."""
        try:
            target, _ = canonical_target(signal.target)
        except AddressError:
            return
        if signal.kind == "retract":
            self._forget(member, target)
        elif outcome in NOT_COUNTED:
            return
        elif (not self.config.rule(signal.scenario).confirmed or target in self.lifted
              or outcome == "probation"):
            self._sight(member, target, signal, received, self.config.rule(signal.scenario).window)

    def sweep(self, now: float) -> None:
        """Forget what no rule can use any more: memory stays proportional to what is live."""
        for target in [t for t, a in self.active.items() if a.until <= now]:
            block = self.active.pop(target)
            if block.full:  # a provisional block that nobody corroborated
                for member in self._makers(block):
                    self._unprovision(member, target)
                    self.trust.expired(member)
        horizon = now - self.config.offense_memory
        for target in [t for t, (_, last) in self.offenses.items() if last < horizon]:
            del self.offenses[target]
        for key in list(self.sightings):
            window = self.config.rule(key[1]).window
            seen = self.sightings[key]
            for member in [m for m, c in seen.items() if c.received < now - window]:
                self._unsight(key, member)
                self.trust.record(member, False)
        for member in [m for m, c in self.charges.items() if not c or c[-1] <= now - HOUR]:
            del self.charges[member]
        for target in [t for t, when in self.lifted.items() if when < now - self.lift_cooldown]:
            del self.lifted[target]
        for target in [t for t in self.disputes if t not in self.active]:
            del self.disputes[target]

    # -- the rules -----------------------------------------------------------------
    def decide(
        self, member: str, signal: Signal, now: float, span: Target | None = None,
        operator: bool = False,
    ) -> Outcome:
        """Apply the rules to one signal from ``member`` received at ``now``.

        ``span`` is the signal's parsed target when the caller already has it;
        ``operator`` marks a signal sent with an operator's key.
        """
        if span is None:
            try:
                span = parse_target(signal.target)
            except AddressError as exc:
                return Outcome(None, "invalid", str(exc))
        target = span.text
        if signal.kind == "retract":
            return self._retract(member, target, now)
        trust = self.trust if self.trust.config.enabled and not operator else None
        screen = (self._screen or self._screened())[span.version]
        i = bisect_right(screen.starts, span.high) - 1
        if i >= 0 and screen.ends[i] >= span.low:  # touches a canary, protection or reserved
            if not operator and self.canaries.touches(span.version, span.low, span.high):
                if trust is None:  # trust off: still never blocked, but nobody is quarantined
                    return Outcome(None, "protected", "canary")
                return self._canary(member, target, now)
            guard = self._guard(span)
            if guard is not None:
                if trust is not None:
                    trust.record(member, False)  # never corroborated: it counts against its record
                return guard
        if trust is not None and trust.standing(member).quarantined:
            return Outcome(None, "quarantined", trust.why_not(member, now) or "")

        explicit = 0.0
        if signal.kind == "ban" and operator:
            rule = ScenarioRule(
                signal.scenario, signal.duration or self.config.manual_duration, confirmed=True
            )
            explicit = signal.duration
        else:
            rule = self.config.rule(signal.scenario)
            if signal.kind == "ban" and 0 < signal.duration < rule.duration:
                explicit = signal.duration  # a member may ask for less, never for more
        if not operator:
            limit = self._widest(member, span.version)
            if span.prefixlen < limit:
                return Outcome(None, "too-wide", too_wide(limit, self.config, span.version))
        needed = rule.needed()
        lifted = self.lifted.get(target)
        if lifted is not None and now - lifted < self.lift_cooldown and not operator:
            needed = max(needed, 2)  # the operator lifted it: one member cannot undo that
        if trust is not None and not trust.config.single_word:
            needed = max(needed, 2)

        active = self.active.get(target)
        if active is not None and active.until > now:
            active.supporters.add(member)
            if active.full and trust is not None and member not in active.deciders:
                extended = self._corroborate(member, active, signal, now)
                if extended is not None:
                    return extended
            return Outcome(None, "already-blocked", f"blocked until {active.until:.0f}")

        evidence: tuple[Contribution, ...] = ()
        short = False
        solo = trust is not None and trust.config.solo_duration > 0
        alone = needed == 1 and (trust is None or (
            trust.decides(member, now) if solo else trust.trusted(member, now)))
        held = ""
        if alone and solo and trust is not None:
            slots = trust.solo_slots(member)
            open_now = self._open(member, now)
            if open_now >= slots:
                alone, needed = False, 2
                held = (f"{open_now} provisional blocks of this member await corroboration"
                        f" (at most {slots} at its weight): this one waits for a second member")
        quorum_solo = (solo and trust is not None and not operator and not held
                       and trust.config.solo_quorum and trust.config.single_word
                       and rule.name in self.config.scenarios  # never an invented scenario
                       and needed == rule.needed() > 1 and trust.decides(member, now)
                       and self._open(member, now) < trust.solo_slots(member))
        if not alone:
            seen = self._sight(member, target, signal, now, rule.window)
            if seen is None:
                return Outcome(
                    None, "sightings-full",
                    f"member holds {self.max_sightings} open sightings; wait for them to age out",
                )
            counted = [c for m, c in seen.items() if m not in self.discounted]
            waiting = self._waiting(
                member, rule, needed, counted, len(seen) - len(counted), now)
            if waiting is not None and not (quorum_solo and waiting.kind == "quorum"):
                if held and waiting.kind == "quorum":
                    return Outcome(None, "unconfirmed", held)
                return waiting
            short = waiting is not None  # the quorum is not met: provisional, whoever agrees
            if held and trust is not None and not any(
                    m != member and trust.decides(m, now) for m in seen):
                return Outcome(None, "unconfirmed", held)  # newcomers cannot lift the cap
            evidence = tuple(counted)
        elif trust is not None and (target, rule.name) in self.sightings:
            # A trusted member's word decides; the newcomers who saw it first are its
            # corroboration (and earn trust by it).
            earlier = self.sightings[(target, rule.name)]
            evidence = (*(c for m, c in earlier.items() if m != member and trust.counts(m)),
                        contribution(member, signal, now))

        supporters = {c.member for c in evidence} if evidence else {member}
        charged = member
        if trust is not None:
            charged = max(sorted(supporters), key=trust.weight)  # the most trusted answers
        weight = 1.0 if trust is None else trust.weight(charged)
        charges = self.charges.get(charged)
        if charges is None:
            charges = self.charges[charged] = deque()
        while charges and charges[0] <= now - HOUR:
            charges.popleft()
        if len(charges) >= max(1, ceil(self.config.member_decisions_per_hour * weight)):
            return RATE_LIMITED
        charges.append(now)
        if not evidence:
            evidence = (contribution(member, signal, now),)

        count, last = self.offenses.get(target, (0, 0.0))
        if last < now - self.config.offense_memory:
            count = 0
        duration = rule.duration * self.config.escalation**count
        if explicit:
            duration = explicit  # an explicit duration is not escalated
        # A member's trust bounds how long its word keeps an address out (never below the
        # scenario's own duration, so escalation is what trust buys).
        cap = self.config.max_duration
        duration = min(duration, cap, max(rule.duration, cap * weight))
        self.offenses[target] = (count + 1, now)
        deciders = frozenset(supporters)
        full = 0.0
        if trust is not None:
            others = [m for m in deciders if m != member and trust.decides(m, now)]
            for m in deciders:  # a report that another deciding member confirmed
                if [o for o in deciders if o != m and trust.decides(o, now)]:
                    trust.record(m, True)
            if (solo and not explicit and (short or not others)
                    and duration > trust.config.solo_duration):
                # One member's word: a provisional block, extended once corroborated.
                full, duration = duration, trust.config.solo_duration
        block_needed = rule.needed() if quorum_solo else needed
        self.active[target] = ActiveBlock(
            target, now + duration, rule.name, block_needed, set(supporters), deciders, now,
            full,
        )
        if (target, rule.name) in self.sightings:
            self._drop((target, rule.name))
        if trust is not None:
            trust.corroborated(deciders)
            if full:
                trust.solo(charged)
                self._provisional(charged, target)
        block = Block(
            target=target,
            until=now + duration,
            scenario=rule.name,
            origin="operator" if operator else ",".join(sorted(supporters)),
            charged=charged,
            offense=count + 1,
            evidence=evidence,
            rule=signal.rule,
        )
        note = f"; provisional until corroborated (then {full:.0f}s)" if full else ""
        return Outcome(block, "decided", f"offense {count + 1}, {duration:.0f}s{note}")

    def operator_lift(self, text: str, now: float) -> list[Lift]:
        """Lift every active block equal to or containing the address/range ``text``.

        A lifted block is forgiven (it does not count as an offense) and its target
        needs two members to be blocked again during the cool-down.
        """
        _, network = canonical_target(text)
        lifts: list[Lift] = []
        for target in list(self.active):
            _, blocked = canonical_target(target)
            if blocked.version == network.version and blocked.overlaps(network):
                self.end_block(target, now, "lift")
                lifts.append(Lift(target, OPERATOR_LIFT, "operator"))
        return lifts

    def end_block(self, target: str, now: float, why: Literal["lift", "dispute"]) -> None:
        """End the active block on ``target``: forgiven, its deciders answer for it."""
        block = self.active.pop(target, None)
        if block is not None and block.full:
            for member in self._makers(block):
                self._unprovision(member, target)
        if block is not None and self.trust.config.enabled:
            self.trust.penalise(block.deciders, why)
        for key in [k for k in self.sightings if k[0] == target]:
            self._drop(key)
        self.disputes.pop(target, None)
        self._forgive(target, now)

    def release(self, member: str, now: float, why: str = "") -> TrustEvent | None:
        """Release a quarantined member (the council's or operator's act), or ``None``."""
        event = TrustEvent("release", member, now, why)
        return event if self.trust.apply(event) else None

    def explain_protection(self, network: IPNetwork) -> list[str]:
        """Why ``network`` can never be blocked (empty when it can)."""
        reasons = self.protections.all_protecting(network)
        if self.canaries.all_protecting(network):
            reasons.append("a canary (secret: a member that reports it is quarantined)")
        if is_reserved(network) and not self.config.allow_reserved:
            reasons.append("reserved address space (private, loopback, link-local...)")
        return reasons

    # -- internals -----------------------------------------------------------------
    def _widest(self, member: str, version: int) -> int:
        """The widest prefix ``member`` may report: a host route on probation, up to
        the policy's limit at full weight."""
        limit = self.config.max_prefix_v4 if version == 4 else self.config.max_prefix_v6
        if not self.trust.config.enabled:
            return limit
        host = 32 if version == 4 else 128
        return host - round(self.trust.weight(member) * (host - limit))

    def _waiting(
        self, member: str, rule: ScenarioRule, needed: int, counted: list[Contribution],
        stale: int, now: float,
    ) -> Outcome | None:
        """Why the sightings ``counted`` do not decide yet, or ``None`` when they do."""
        note = f" ({stale} not ready, not counted)" if stale else ""
        trust = self.trust
        if not trust.config.enabled:
            if len(counted) < needed:
                return Outcome(None, "quorum",
                               f"{len(counted)}/{needed} members{note}, waiting for more")
            return None
        members = [c.member for c in counted]
        if rule.weight > 0 and not rule.confirmed:
            total = trust.support(members)
            if total < rule.weight:
                return Outcome(None, "quorum",
                               f"weight {total:.2f}/{rule.weight:g}{note}, waiting for more")
        elif len(counted) < needed:
            return Outcome(None, "quorum",
                           f"{len(counted)}/{needed} members{note}, waiting for more")
        if not any(trust.decides(m, now) for m in members):
            why = trust.why_not(member, now) or f"no trusted member among {len(members)}"
            return Outcome(None, "probation", why + note)
        return None

    def _corroborate(
        self, member: str, active: ActiveBlock, signal: Signal, now: float
    ) -> Outcome | None:
        """A second member reports a provisional block's target: extend it to its full
        duration when the member's own word would decide and the scenario's quorum (or
        weight) is met; ``None`` when it is not."""
        trust = self.trust
        if not trust.decides(member, now):
            return None
        rule = self.config.rule(active.scenario)
        backers = {m for m in active.supporters if trust.counts(m)}
        if len(backers) < max(2, active.needed):
            return None
        if rule.weight > 0 and not rule.confirmed and trust.support(backers) < rule.weight:
            return None
        until = max(active.until, active.created + active.full)
        makers = self._makers(active)
        self._extended(active, until, backers)
        for maker in makers:
            trust.record(maker, True)
        made = active.created
        evidence = (*(Contribution(m, active.scenario, 0, made, made, made, "provisional block")
                      for m in makers), contribution(member, signal, now))
        count, _ = self.offenses.get(active.target, (1, now))
        block = Block(target=active.target, until=until, scenario=active.scenario,
                      origin=",".join(sorted(backers)), charged="", offense=count,
                      evidence=evidence, rule=signal.rule)
        return Outcome(block, "decided", f"corroborated: provisional block extended to"
                                         f" {until - now:.0f}s")

    def _extended(self, active: ActiveBlock, until: float, backers: frozenset[str] | set[str]
                  ) -> None:
        """A provisional block got its corroboration: full duration, its maker repaid."""
        for maker in self._makers(active):
            self._unprovision(maker, active.target)
            self.trust.confirm(maker)
        deciders = frozenset(active.deciders | backers)
        self.trust.corroborated(deciders)
        active.until, active.full, active.deciders = until, 0.0, deciders
        active.supporters |= deciders

    def _makers(self, block: ActiveBlock) -> list[str]:
        """Who made the provisional ``block`` (and answers for it until corroborated)."""
        return sorted(m for m in block.deciders if block.target in self.provisional.get(m, ()))

    def _provisional(self, member: str, target: str) -> None:
        self.provisional.setdefault(member, set()).add(target)

    def _unprovision(self, member: str, target: str) -> None:
        held = self.provisional.get(member)
        if held is not None:
            held.discard(target)
            if not held:
                del self.provisional[member]

    def _open(self, member: str, now: float) -> int:
        """The member's provisional blocks still in force."""
        held = self.provisional.get(member, ())
        return sum(1 for t in held if t in self.active and self.active[t].until > now)

    def _canary(self, member: str, target: str, now: float) -> Outcome:
        event = TrustEvent("quarantine", member, now, f"reported canary {target}")
        if self.trust.apply(event):
            self.events.append(event)
            for key in [k for k, seen in self.sightings.items() if member in seen]:
                self._unsight(key, member)
        return Outcome(None, "canary",
                       "a canary: never blocked; the member is quarantined and the council told")

    def _forgive(self, target: str, when: float) -> None:
        count, last = self.offenses.get(target, (0, 0.0))
        if count <= 1:
            self.offenses.pop(target, None)
        else:
            self.offenses[target] = (count - 1, last)
        self.lifted[target] = when

    def _guard(self, span: Target) -> Outcome | None:
        label = self.protections.protecting_span(span.version, span.low, span.high)
        if label is not None:
            return Outcome(None, "protected", label)
        if not self.config.allow_reserved and reserved_span(span):
            return Outcome(None, "reserved", "reserved ranges are never alliance-wide decisions")
        return None

    def _sight(
        self, member: str, target: str, signal: Signal, now: float, window: float
    ) -> dict[str, Contribution] | None:
        key = (target, signal.scenario)
        seen = self.sightings.get(key)
        if seen is not None:
            for other in [m for m, c in seen.items() if c.received < now - window]:
                self._unsight(key, other)
            seen = self.sightings.get(key)
        if seen is None or member not in seen:
            if self.sighted.get(member, 0) >= self.max_sightings:
                return None
            self.sighted[member] = self.sighted.get(member, 0) + 1
        if seen is None:
            seen = self.sightings[key] = {}
        seen[member] = contribution(member, signal, now)
        return seen

    def _unsight(self, key: tuple[str, str], member: str) -> bool:
        seen = self.sightings.get(key)
        if seen is None or seen.pop(member, None) is None:
            return False
        left = self.sighted.get(member, 0) - 1
        if left > 0:
            self.sighted[member] = left
        else:
            self.sighted.pop(member, None)
        if not seen:
            del self.sightings[key]
        return True

    def _drop(self, key: tuple[str, str]) -> None:
        for member in list(self.sightings.get(key, {})):
            self._unsight(key, member)

    def _forget(self, member: str, target: str) -> int:
        return sum(self._unsight(k, member) for k in [k for k in self.sightings if k[0] == target])

    def _retract(self, member: str, target: str, now: float) -> Outcome:
        forgotten = self._forget(member, target)
        active = self.active.get(target)
        if active is not None and active.until > now and member in active.supporters:
            active.supporters.discard(member)
            if len(active.supporters) < active.needed:
                del self.active[target]
                for maker in self._makers(active):  # withdrawn uncorroborated: the cost stays
                    self._unprovision(maker, target)
                    self.trust.expired(maker)
                return Outcome(Lift(target, "retracted", member), "lifted", "support withdrawn")
            return Outcome(None, "retracted", "other members still support the block")
        if forgotten:
            return Outcome(None, "retracted", "sightings withdrawn")
        return Outcome(None, "nothing-to-retract", "no block or sighting by this member")
