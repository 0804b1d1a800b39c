"""Trust against the ledger: standings for ``hub members``/``explain``, releases, disputes.

Each function rebuilds the policy from the ledger (as ``hub lift`` does), lets
the pure code decide, and writes what it decided in one group: a dispute's
journal record with the lift it caused, or a release record.
"""

from __future__ import annotations

import msgspec

from shieldwall.hub.disputes import (
    JOURNAL_KIND as DISPUTES,
)
from shieldwall.hub.disputes import (
    Dispute,
    DisputeAnswer,
    DisputeRecord,
    decode_record,
    dispute,
    encode_record,
    restore_dispute,
)
from shieldwall.hub.intake import decision_record
from shieldwall.hub.ledger.storage import JournalEntry, Ledger, WriteGroup
from shieldwall.hub.policy import Policy
from shieldwall.hub.policy_config import PolicyConfig
from shieldwall.hub.policy_view import build_policy
from shieldwall.hub.protections import Protections
from shieldwall.hub.trust import JOURNAL_KIND, encode_event


class MemberTrust(msgspec.Struct, frozen=True):
    """One member's trust as ``hub members`` shows it."""

    weight: float
    #: "trusted", "probation", "quarantined" or "not-ready"
    state: str
    why: str = ""


def member_trust(policy: Policy, member: str, now: float) -> MemberTrust:
    """The member's weight and state, with the reason its word does not decide alone."""
    trust = policy.trust
    why = trust.why_not(member, now) or ""
    if trust.standing(member).quarantined:
        state = "quarantined"
    elif member in trust.not_ready:
        state = "not-ready"
    else:
        state = "probation" if why else "trusted"
    return MemberTrust(round(trust.weight(member), 3), state, why)


def trust_lines(
    policy: Policy, members: list[str], now: float, targets: list[str] | None = None,
    rebuilt: bool = True,
) -> list[str]:
    """Why reports did not decide on their own word (for explain): one line per member
    on probation, quarantined or not ready, or out of provisional blocks, and one per
    provisional block among ``targets``."""
    lines: list[str] = []
    trust = policy.trust
    for member in sorted(set(members)):
        why = trust.why_not(member, now)
        if why:
            lines.append(f"{why} (weight {trust.weight(member):.2f})")
            if "reports corroborated" in why and rebuilt:
                lines.append("  (that record is the running hub's memory since it started;"
                             " this view, rebuilt from the ledger, counts from now)")
        held = sum(1 for t in policy.provisional.get(member, ())
                   if t in policy.active and policy.active[t].until > now)
        if held and held >= trust.solo_slots(member):
            lines.append(f"member {member!r} holds {held} provisional blocks awaiting"
                         f" corroboration (at most {trust.solo_slots(member)} at weight"
                         f" {trust.weight(member):.2f}): its next reports wait for a second member")
    for target in targets or ():
        block = policy.active.get(target)
        if block is not None and block.full and block.until > now:
            makers = ", ".join(sorted(m for m in block.deciders
                                      if target in policy.provisional.get(m, ())))
            lines.append(f"the block on {target} is provisional: {makers}'s word alone, for"
                         f" {block.until - now:.0f}s more; {block.full:.0f}s once a member whose"
                         " word counts reports it too")
    return lines


async def disputes_on(ledger: Ledger, targets: list[str]) -> list[DisputeRecord]:
    """The journalled disputes about any of ``targets``, oldest first."""
    records: list[DisputeRecord] = []
    for target in targets:
        for entry in await ledger.journal(DISPUTES, key=target, limit=100):
            record = decode_record(entry.body)
            if record is not None:
                records.append(record)
    return sorted(records, key=lambda r: r.at)


async def rebuilt(ledger: Ledger, config: PolicyConfig, base: Protections, now: float) -> Policy:
    """The policy as of ``now``, with the disputes still open weighed again."""
    policy = await build_policy(ledger, config, base, now)
    if policy.active and config.trust.enabled:
        for entry in await ledger.journal(DISPUTES, limit=1000, newest_first=True):
            record = decode_record(entry.body)
            if record is not None:
                restore_dispute(policy, record)
    return policy


async def file_dispute(
    ledger: Ledger, config: PolicyConfig, base: Protections, member: str, claim: Dispute,
    now: float,
) -> DisputeAnswer:
    """Weigh ``member``'s dispute and write it (with any lift) in one group."""
    policy = await rebuilt(ledger, config, base, now)
    outcome, lifts = dispute(policy, member, claim, now)
    target = claim.target
    record = DisputeRecord(member, now, claim, outcome.kind, outcome.detail)
    group = WriteGroup(
        decisions=[decision_record(lift, now) for lift in lifts],
        journal=[JournalEntry(DISPUTES, target, now, encode_record(record))],
    )
    await ledger.write(group)
    return DisputeAnswer(target, outcome.kind, outcome.detail,
                         tuple(lift.target for lift in lifts))


async def release(
    ledger: Ledger, config: PolicyConfig, base: Protections, member: str, why: str, now: float,
) -> bool:
    """Release a quarantined member (journalled); False when it was not quarantined."""
    policy = await build_policy(ledger, config, base, now)
    event = policy.release(member, now, why)
    if event is None:
        return False
    await ledger.journal_append([JournalEntry(JOURNAL_KIND, member, now, encode_event(event))])
    return True
