"""Disputes: a member with evidence that a blocked address is benign says so. Pure.

The address is its customer, it logged successful logins from it, its own
allowlist holds it: the member sends a signed :class:`Dispute` (``POST
/v1/disputes``). The dispute weighs the disputer's trust against the block's:
once the disputers' summed weight reaches the summed weight of the members whose
evidence made the decision, the block is lifted alliance-wide (``dispute-lift``)
and those members answer for it in trust (``dispute_penalty`` each). A member
cannot dispute a block it made (it retracts instead), and a member whose
reports do not count (quarantined, not ready) disputes nothing.

Every dispute is kept in the journal (:data:`JOURNAL_KIND`, key: the target),
so that ``hub explain`` shows it and a rebuilt policy still weighs it.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shieldwall.addresses import IPNetwork
from shieldwall.errors import AddressError
from shieldwall.hub.policy import DISPUTE_LIFT, Lift, Outcome, Policy, canonical_target

JOURNAL_KIND = "dispute"
EVIDENCE_LINES, EVIDENCE_CHARS = 20, 512

Reason = Literal["customer", "logins", "allowlist", "other"]


class Dispute(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A member's claim that a decision blocks an address it knows to be benign."""

    target: str
    reason: Reason
    #: What backs the claim (log lines, a ticket reference), bounded.
    evidence: Annotated[
        tuple[Annotated[str, msgspec.Meta(max_length=EVIDENCE_CHARS)], ...],
        msgspec.Meta(max_length=EVIDENCE_LINES),
    ] = ()


class DisputeRecord(msgspec.Struct, frozen=True):
    """A dispute as the journal keeps it."""

    member: str
    at: float
    dispute: Dispute
    #: What it led to: "dispute-lift", "disputed" (weighed, not enough yet), "refused".
    outcome: str
    detail: str


class DisputeAnswer(msgspec.Struct, frozen=True):
    """The hub's answer to a dispute (what the member sees)."""

    target: str
    outcome: str
    detail: str
    lifted: tuple[str, ...] = ()


def dispute(policy: Policy, member: str, claim: Dispute, now: float) -> tuple[Outcome, list[Lift]]:
    """Weigh ``member``'s dispute against every active block covering its target."""
    try:
        _, network = canonical_target(claim.target)
    except AddressError as exc:
        return Outcome(None, "invalid", str(exc)), []
    trust = policy.trust
    if not trust.counts(member):
        return Outcome(None, "quarantined", trust.why_not(member, now) or "does not count"), []
    lifts: list[Lift] = []
    notes: list[str] = []
    for target in _covering(policy, network):
        block = policy.active[target]
        if block.until <= now:
            continue
        if member in block.deciders:
            notes.append(f"{target}: made with this member's own evidence (retract it instead)")
            continue
        against = policy.disputes.setdefault(target, {})
        against[member] = trust.weight(member)
        weight = sum(w for m, w in against.items() if trust.counts(m))
        support = trust.support(block.deciders)
        if weight > 0 and weight >= support:
            policy.end_block(target, now, "dispute")
            lifts.append(Lift(target, DISPUTE_LIFT, ",".join(sorted(against))))
            notes.append(f"{target}: lifted (disputes weigh {weight:.2f} >= support {support:.2f})")
        else:
            notes.append(f"{target}: disputes weigh {weight:.2f} < support {support:.2f}")
    if not notes:
        return Outcome(None, "disputed", f"no active block covers {claim.target}"), []
    if lifts:
        return Outcome(lifts[0], "lifted", "; ".join(notes)), lifts
    return Outcome(None, "disputed", "; ".join(notes)), lifts


def _covering(policy: Policy, network: IPNetwork) -> list[str]:
    """Active targets overlapping ``network``: its covering prefixes (looked up), and
    for a range, the blocks inside it (scanned: ranges are rare)."""
    found = []
    for length in range(network.prefixlen, -1, -1):
        text, _ = canonical_target(str(network.supernet(new_prefix=length)))
        if text in policy.active:
            found.append(text)
    if network.num_addresses > 1:
        for target in policy.active:
            _, blocked = canonical_target(target)
            if (target not in found and blocked.version == network.version
                    and blocked.subnet_of(network)):  # type: ignore[arg-type]
                found.append(target)
    return found


def restore_dispute(policy: Policy, record: DisputeRecord) -> None:
    """Weigh a journalled dispute again in a rebuilt policy (never lifts: a lift it made
    is in the decision log already)."""
    try:
        _, network = canonical_target(record.dispute.target)
    except AddressError:
        return
    for target, block in policy.active.items():
        _, blocked = canonical_target(target)
        if blocked.version != network.version or not blocked.overlaps(network):
            continue
        if record.member in block.deciders or record.at < block.created:
            continue
        policy.disputes.setdefault(target, {})[record.member] = policy.trust.weight(record.member)


def encode_record(record: DisputeRecord) -> bytes:
    """The journal body of a dispute."""
    return msgspec.json.encode(record)


_records = msgspec.json.Decoder(DisputeRecord)


def decode_record(body: bytes) -> DisputeRecord | None:
    """A journal body as a dispute (``None`` for one this version cannot read)."""
    try:
        return _records.decode(body)
    except msgspec.DecodeError:
        return None
