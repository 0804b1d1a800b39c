"""Operator actions on a hub's ledger: invite, expel, lift, explain.

These run in the operator's ``shieldwall hub`` process against the same ledger
the serving hub uses; the serving hub notices the change (see
:meth:`~shieldwall.hub.ledger.sqlite.SQLiteLedger.changed_elsewhere`) and
publishes any new decision to every member's stream.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import msgspec

from shieldwall.arsenal.ledger_copy import published_root_pin
from shieldwall.decisions.decision import Decision
from shieldwall.errors import HubError
from shieldwall.governance.standing import decided_under
from shieldwall.hub.config import HubConfig
from shieldwall.hub.identity import CERT_FILE, fingerprint
from shieldwall.hub.intake import decision_record
from shieldwall.hub.ledger.storage import (
    InviteRecord,
    Ledger,
    MemberRecord,
    StoredSignal,
    WriteGroup,
)
from shieldwall.hub.members import JoinToken, encode_token, new_secret, secret_hash
from shieldwall.hub.policy import Contribution, canonical_target
from shieldwall.hub.policy_view import build_policy
from shieldwall.hub.trust_admin import disputes_on, trust_lines
from shieldwall.signals.hub_addresses import check_addresses, check_fingerprints


async def create_invite(
    ledger: Ledger, config: HubConfig, name: str, lifetime: float, now: float,
    owns: tuple[str, ...] = (), addresses: tuple[str, ...] = (), pins: tuple[str, ...] = (),
) -> str:
    """Store a one-time invite and return the printable join token.

    Refused (:class:`HubError` saying what to do instead) for a hub under a council:
    admitting a member is then a council act (``shieldwall council propose admit``).

    ``owns`` names the ranges the invited member holds: its claims at join must lie
    inside them (and may then be wider than a member could claim unaided).
    ``addresses`` (default: the configured ``public_addresses``, else
    ``public_address``) are the replicas the member may reach, in order; ``pins``
    (default: ``pinned``) are other replicas' certificate fingerprints.
    """
    if config.council_dir is not None:
        from shieldwall.hub.admitted import invite_refusal

        raise HubError(invite_refusal(config))
    hubs, fingerprints = join_hubs(config, addresses, pins)
    secret = new_secret()
    await ledger.add_invite(InviteRecord(
        secret_hash(secret), name=name, created=now, expires=now + lifetime,
        owns=tuple(canonical_target(text)[0] for text in owns),
    ))
    token = JoinToken(
        hub=hubs[0], fingerprint=fingerprints[0], secret=secret, expires=now + lifetime,
        name=name, replicas=hubs[1:], pins=fingerprints[1:], charter=config.charter,
        arsenal=await published_root_pin(ledger, config.data_dir / "arsenal"),
    )
    return encode_token(token)


def join_hubs(config: HubConfig, addresses: tuple[str, ...] = (), pins: tuple[str, ...] = ()
              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The hub addresses and certificate fingerprints a new member is given (a token or,
    under a council, the welcome of an admitted member)."""
    hubs = check_addresses(addresses or config.join_addresses)
    cert = (config.data_dir / CERT_FILE).read_text()
    return hubs, check_fingerprints((fingerprint(cert), *(pins or config.pinned)))


async def expel(ledger: Ledger, name: str, now: float) -> MemberRecord:
    """Revoke a member's key; whatever it signs afterwards is rejected."""
    return await ledger.revoke_member(name, "expelled", now)


async def lift(ledger: Ledger, config: HubConfig, address: str, now: float) -> list[Decision]:
    """Lift every active block covering ``address``; returns the lift decisions written."""
    policy = await build_policy(ledger, config.policy(), config.protections(), now)
    lifts = policy.operator_lift(address, now)
    if not lifts:
        return []
    from shieldwall.hub.governance_council import version_for

    version = version_for(config, now)  # under a council: refused unless its policy runs here
    records = [msgspec.structs.replace(decision_record(item, now), policy=version) for item in lifts]
    cursors = await ledger.write(WriteGroup(decisions=records))
    return [r.decision(c) for c, r in zip(cursors, records, strict=True)]


async def ban(
    ledger: Ledger, config: HubConfig, address: str, duration: float, now: float
) -> list[Decision]:
    """Block ``address`` alliance-wide for ``duration`` seconds, as the operator: the same
    rules as an operator member's ban (protections, members' own ranges, the policy's
    caps). Raises :class:`HubError` naming why the policy refuses it."""
    from shieldwall.hub.governance_council import version_for
    from shieldwall.hub.policy_values import Block
    from shieldwall.signals.signal import Signal

    policy = await build_policy(ledger, config.policy(), config.protections(), now)
    outcome = policy.decide(
        "operator", Signal(kind="ban", target=address, scenario="manual", duration=duration),
        now, operator=True,
    )
    if not isinstance(outcome.decision, Block):
        raise HubError(f"{address} is not blocked: {outcome.kind} ({outcome.detail})")
    version = version_for(config, now)  # under a council: refused unless its policy runs here
    record = msgspec.structs.replace(decision_record(outcome.decision, now), policy=version)
    cursors = await ledger.write(WriteGroup(decisions=[record]))
    return [record.decision(c) for c in cursors]


def covering_targets(text: str) -> list[str]:
    """Every target text that covers ``text``: itself and each enclosing prefix."""
    target, network = canonical_target(text)
    targets = [target]
    for length in range(network.prefixlen - 1, -1, -1):
        wider = network.supernet(new_prefix=length)
        targets.append(str(wider))
    return targets


@dataclass
class Explanation:
    """Why an address is or is not blocked."""

    target: str
    blocked_by: list[Decision] = field(default_factory=list)
    evidence: dict[int, list[Contribution]] = field(default_factory=dict)
    lifted: list[Decision] = field(default_factory=list)
    protections: list[str] = field(default_factory=list)
    signals: list[StoredSignal] = field(default_factory=list)
    #: Why the signalling members' reports did not count on their own (trust).
    trust: list[str] = field(default_factory=list)
    #: Disputes members filed about it (see hub.disputes).
    disputes: list[str] = field(default_factory=list)

    def render(self, now: float) -> str:
        """Human-readable text."""
        lines: list[str] = []
        if self.blocked_by:
            lines.append(f"{self.target} is BLOCKED")
            for d in self.blocked_by:
                lines.append(
                    f"  decision #{d.cursor} on {d.target}: {d.scenario}, by {d.origin},"
                    f" {max(0.0, d.until - now):.0f}s left; {decided_under(d)}"
                )
                for c in self.evidence.get(d.cursor, []):
                    lines.append(
                        f"    evidence: member {c.member} saw {c.scenario} x{c.count}"
                        f" ({c.first_seen:.0f}..{c.last_seen:.0f}) {c.reason}".rstrip()
                    )
                    lines.extend(f"      | {line}" for line in c.sample)
        else:
            lines.append(f"{self.target} is not blocked")
        for d in self.lifted:
            lines.append(f"  lifted by #{d.cursor} ({d.scenario}, {d.origin})")
        for label in self.protections:
            lines.append(f"  protected: {label}")
        if self.signals:
            lines.append("  recent signals:")
            for s in self.signals:
                lines.append(
                    f"    {s.member}: {s.signal.kind} {s.signal.scenario} on {s.signal.target}"
                    f" -> {s.outcome} {s.note}"
                )
        elif not self.blocked_by:
            lines.append("  no member has signalled it")
        if self.trust:
            lines.append("  why some reports did not count on their own:")
            lines.extend(f"    {line}" for line in self.trust)
        if self.disputes:
            lines.append("  disputes:")
            lines.extend(f"    {line}" for line in self.disputes)
        return "\n".join(lines)


async def explain(ledger: Ledger, config: HubConfig, address: str, now: float) -> Explanation:
    """Gather the decisions, protections and signals that bear on ``address``."""
    targets = covering_targets(address)
    target, network = canonical_target(address)
    result = Explanation(target=target)
    latest: dict[str, Decision] = {}
    evidence_of: dict[int, bytes] = {}
    for stored in await ledger.decisions_for(targets):
        latest[stored.decision.target] = stored.decision
        evidence_of[stored.decision.cursor] = stored.evidence
    decoder = msgspec.json.Decoder(list[Contribution])
    for decision in latest.values():
        if decision.action == "block" and decision.until > now:
            result.blocked_by.append(decision)
            try:
                result.evidence[decision.cursor] = decoder.decode(evidence_of[decision.cursor])
            except msgspec.DecodeError:
                result.evidence[decision.cursor] = []
        elif decision.action == "lift":
            result.lifted.append(decision)
    policy = await build_policy(ledger, config.policy(), config.protections(), now)
    if isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network):
        result.protections = policy.explain_protection(network)
    result.signals = await ledger.signals_for(targets, 10)
    result.trust = trust_lines(policy, [s.member for s in result.signals], now, targets)
    result.disputes = [
        f"{r.member} ({r.dispute.reason}) on {r.dispute.target} -> {r.outcome}: {r.detail}"
        for r in await disputes_on(ledger, targets)
    ]
    return result
