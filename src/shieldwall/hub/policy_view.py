"""The policy's view of the ledger: what it asks for and builds its memory from.

The policy decides which rows it needs (:class:`ViewQuery`, from its own
configuration) and how they become memory (:func:`build_policy`); a ledger
backend only answers the query. So the rules and what they remember stay on one
side, and a second backend cannot disagree about them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.hub.ledger.storage import Ledger, MemberRecord, StoredDecision, StoredSignal
from shieldwall.hub.policy import Policy, canonical_target
from shieldwall.hub.policy_config import HOUR, PolicyConfig
from shieldwall.hub.protections import Protected, Protections
from shieldwall.hub.trust import JOURNAL_KIND, Trust, TrustEvent, decode_event


@dataclass(frozen=True, slots=True)
class ViewQuery:
    """Which rows rebuild the policy's memory as of ``now``."""

    now: float
    #: Decisions created after ``now - horizon`` (offense memory, longest block, lifts).
    horizon: float
    #: Signals received after ``now - signal_horizon`` (the longest quorum window).
    signal_horizon: float
    #: Scenarios that never wait for a quorum: their detections are not read.
    confirmed: tuple[str, ...]
    #: Decisions charged to members after ``now - charge_horizon`` (rate limit).
    charge_horizon: float = HOUR


@dataclass(frozen=True, slots=True)
class PolicyRows:
    """What the policy needs to rebuild its memory at time ``now``."""

    #: Decisions that may still matter (recent blocks and all lifts after them), cursor order.
    decisions: list[StoredDecision]
    #: member -> times of decisions charged to it in the last hour
    charges: list[tuple[str, float]]
    #: Recent signals (for quorum sightings and retractions), in arrival order.
    signals: list[StoredSignal]


def view_query(config: PolicyConfig, now: float) -> ViewQuery:
    """The rows ``config``'s rules need at ``now``."""
    return ViewQuery(
        now=now,
        horizon=max(config.offense_memory, config.max_duration),
        signal_horizon=config.max_window(),
        # A member on probation leaves sightings on confirmed scenarios too; they are not
        # read back (that would mean every recent signal): after a rebuild such a sighting
        # is gone, which costs the newcomer the credit of one corroboration, never a block
        # (a trusted member's word decides those scenarios on its own).
        confirmed=tuple(name for name, rule in config.scenarios.items() if rule.confirmed),
    )


def member_protections(members: list[MemberRecord]) -> list[Protected]:
    """Every active member's own ranges, labelled with the member's name."""
    entries: list[Protected] = []
    for member in members:
        if not member.active:
            continue
        for text in member.owns:
            _, network = canonical_target(text)
            entries.append(Protected(network, f"owned by member {member.name!r}"))
    return entries


async def trust_events(ledger: Ledger) -> list[TrustEvent]:
    """Every quarantine and release in the journal, oldest first."""
    events: list[TrustEvent] = []
    after = 0
    while True:
        page = await ledger.journal(JOURNAL_KIND, after=after, limit=1000)
        events += [e for e in (decode_event(entry.body) for entry in page) if e is not None]
        if len(page) < 1000:
            return events
        after = page[-1].id


async def build_policy(
    ledger: Ledger, config: PolicyConfig, base: Protections, now: float
) -> Policy:
    """A policy whose memory is rebuilt from the ledger as of ``now``."""
    members = await ledger.members()
    trust = Trust(config.trust, joined={m.name: m.joined for m in members})
    policy = Policy(config, base.with_entries(member_protections(members)), trust=trust)
    query = view_query(config, now)
    events = await trust_events(ledger) if config.trust.enabled else []
    policy.restore(await ledger.policy_rows(query), now, events)
    if policy.lifted:
        # Within a lift's cool-down even confirmed scenarios wait for a second member:
        # their sightings on lifted targets (which the query skipped) are replayed too.
        recent = await ledger.signals_for(list(policy.lifted), 10_000)
        for stored in reversed(recent):
            if stored.received > now - query.signal_horizon and stored.signal.kind != "retract":
                policy.restore_signal(
                    stored.member, stored.signal, stored.received, stored.outcome)
        policy.sweep(now)
    return policy
