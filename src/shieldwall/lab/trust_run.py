"""One run of the trust simulation through the real :class:`~shieldwall.hub.policy.Policy`.

The same world is sent twice: to the policy as configured ("trust") and to the
same policy with trust switched off ("today": one member's word is enough), so
the cost of trust (P5) is measured on identical traffic. Honest members whose
customers a lie got blocked dispute it :data:`DISPUTE_AFTER` seconds later.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace

from shieldwall.addresses import Labelled, Ranges, parse_network
from shieldwall.hub.disputes import Dispute, dispute
from shieldwall.hub.policy import Block, Lift, Policy
from shieldwall.hub.policy_config import PolicyConfig
from shieldwall.hub.trust import Trust
from shieldwall.lab.trust_model import World
from shieldwall.signals.signal import Signal

T0 = 1_780_000_000.0
DISPUTE_AFTER = 300.0


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run measured (times in seconds)."""

    protected_bans: int
    benign_bans: int
    burst_bans: int
    #: Attackers that reached >= 2 honest members after the warm-up, and how many were banned.
    eligible: int
    banned: int
    #: Seconds from the first honest detection to the ban, per banned eligible attacker.
    ban_delays: tuple[float, ...]
    #: Seconds from the second honest detection (the first corroboration) to the ban.
    corroborated_delays: tuple[float, ...]
    #: Seconds later than "today" each eligible attacker was banned (both runs banned it).
    costs: tuple[float, ...]
    colluders_quarantined: int
    colluders_trusted: int
    honest_trusted: int
    disputes_lifted: int
    #: Hours benign addresses spent blocked alliance-wide (the harm, in address-hours).
    benign_hours: float = 0.0


@dataclass(slots=True)
class _Trace:
    bans: dict[str, float]
    lifted_by_dispute: int
    policy: Policy
    #: target -> [start, until] of each stretch it was blocked (extensions lengthen one)
    spans: dict[str, list[list[float]]] = field(default_factory=dict)

    def block(self, target: str, now: float, until: float) -> None:
        spans = self.spans.setdefault(target, [])
        if spans and spans[-1][1] > now:
            spans[-1][1] = max(spans[-1][1], until)
        else:
            spans.append([now, until])

    def lift(self, target: str, now: float) -> None:
        spans = self.spans.get(target)
        if spans and spans[-1][1] > now:
            spans[-1][1] = now

    def hours(self, targets: set[str], end: float) -> float:
        return sum(min(b, end) - a for t in targets for a, b in self.spans.get(t, ())) / 3600


def _policy(world: World, config: PolicyConfig, trusted: bool) -> Policy:
    trust_config = replace(config.trust, enabled=trusted)
    config = replace(config, trust=trust_config, allow_reserved=False)
    # Founders are the members the council vouched for; everyone else is judged on record.
    joined = {m: T0 + at for m, at in world.joined.items()}
    joined.update({m: T0 - 30 * 86400.0 for m in world.founders})
    protections = Ranges(
        Labelled(parse_network(a), f"owned by member {m!r}") for m, a in world.owned.items()
    )
    canaries = Ranges(Labelled(parse_network(a), "canary") for a in world.canaries)
    trust_config = replace(trust_config, vouched=tuple(sorted(world.founders)))
    return Policy(config, protections, trust=Trust(trust_config, joined=joined),
                  canaries=canaries)


def _replay(world: World, config: PolicyConfig, trusted: bool) -> _Trace:
    policy = _policy(world, config, trusted)
    customers = set(world.customers)
    owner = sorted(m for m in world.members if m not in world.colluders)[0]
    trace = _Trace({}, 0, policy)
    disputes: list[tuple[float, str]] = []
    swept = 0.0
    for report in world.reports:
        now = T0 + report.at
        while disputes and disputes[0][0] <= now:
            at, target = heapq.heappop(disputes)
            _, lifts = dispute(policy, owner, Dispute(target, "customer"), at)
            trace.lifted_by_dispute += len(lifts)
            for lift in lifts:
                trace.lift(lift.target, at)
        if now - swept > 900.0:
            policy.sweep(now)
            swept = now
        signal = Signal(kind="detection", target=report.target, scenario=report.scenario)
        outcome = policy.decide(report.member, signal, now)
        if isinstance(outcome.decision, Block):
            trace.bans.setdefault(outcome.decision.target, now)
            trace.block(outcome.decision.target, now, outcome.decision.until)
            if outcome.decision.target in customers:
                heapq.heappush(disputes, (now + DISPUTE_AFTER, outcome.decision.target))
        elif isinstance(outcome.decision, Lift):  # pragma: no cover - members never retract here
            pass
    return trace


def run(world: World, config: PolicyConfig, trusted: bool = True) -> RunResult:
    """Send ``world`` through the policy (trust on or off) and through today's policy."""
    trace = _replay(world, config, trusted)
    today = _replay(world, config, False)
    protected = set(world.owned.values()) | set(world.canaries)
    benign = (set(world.benign) | set(world.customers)) - set(world.canaries)
    burst = {r.target for r in world.reports if r.kind == "burst"}
    eligible = banned = 0
    delays: list[float] = []
    second: list[float] = []
    costs: list[float] = []
    for attacker in world.attackers:
        honest = [t for t, m in attacker.hits if m not in world.colluders]
        if len(honest) < 2 or honest[0] < world.warmup:
            continue
        eligible += 1
        at = trace.bans.get(attacker.address)
        if at is None:
            continue
        banned += 1
        delays.append(max(0.0, at - T0 - honest[0]))
        second.append(max(0.0, at - T0 - honest[1]))
        before = today.bans.get(attacker.address)
        if before is not None:
            costs.append(max(0.0, at - before))
    trust = trace.policy.trust
    end = T0 + max(r.at for r in world.reports)
    end_weights = {m: trust.trusted(m, end) for m in world.members}
    return RunResult(
        protected_bans=sum(1 for t in trace.bans if t in protected),
        benign_bans=sum(1 for t in trace.bans if t in benign and t not in burst),
        burst_bans=sum(1 for t in trace.bans if t in burst),
        eligible=eligible,
        banned=banned,
        ban_delays=tuple(delays),
        corroborated_delays=tuple(second),
        costs=tuple(costs),
        colluders_quarantined=sum(
            1 for m in world.colluders if trust.standing(m).quarantined),
        colluders_trusted=sum(1 for m in world.colluders if end_weights[m]),
        honest_trusted=sum(
            1 for m in world.members if m not in world.colluders and end_weights[m]),
        disputes_lifted=trace.lifted_by_dispute,
        benign_hours=trace.hours(benign - burst, end),
    )
