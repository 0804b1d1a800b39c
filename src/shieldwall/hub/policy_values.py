"""The policy's values: what a signal led to and the evidence behind a decision. Pure.

:mod:`shieldwall.hub.policy` holds the rules; these are the records they hand
out (a :class:`Block` or :class:`Lift` with an :class:`Outcome`), the evidence
they keep (:class:`Contribution`) and a block in force (:class:`ActiveBlock`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import msgspec

from shieldwall.addresses import RESERVED, IPNetwork, Target, network_target, parse_network
from shieldwall.hub.policy_config import PolicyConfig
from shieldwall.signals.signal import Signal


def canonical_target(text: str) -> tuple[str, IPNetwork]:
    """Canonical text of a target and its network: host routes become plain addresses."""
    network = parse_network(text)
    return network_target(network), network


def reserved_span(target: Target) -> bool:
    return RESERVED.touches(target.version, target.low, target.high)


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
    #: The rule version the member's signal named (empty from older agents).
    rule: str = ""


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
    #: The rule version that caused it: the deciding signal's.
    rule: str = ""


class Lift(msgspec.Struct, frozen=True):
    """A decision that ends the block on ``target``."""

    target: str
    scenario: str
    origin: str


#: What one signal led to, stored in its own ledger column (never parsed from prose).
OutcomeKind = Literal[
    "decided", "quorum", "protected", "reserved", "too-wide", "already-blocked",
    "rate-limited", "retracted", "nothing-to-retract", "lifted", "invalid",
    "sightings-full", "canary", "quarantined", "probation", "disputed", "unconfirmed",
]
#: Outcomes of signals that counted for nothing: never replayed as sightings.
NOT_COUNTED = frozenset({"canary", "quarantined"})
OPERATOR_LIFT = "operator-lift"
DISPUTE_LIFT = "dispute-lift"
#: Evidence kept in memory per sighting (the ledger keeps the signal's full sample).
SAMPLE_LINES, SAMPLE_CHARS = 3, 512


class Outcome(msgspec.Struct, frozen=True):
    """What one signal led to: maybe a decision, always a kind saying why."""

    decision: Block | Lift | None
    kind: OutcomeKind
    detail: str = ""


RATE_LIMITED = Outcome(None, "rate-limited", "member reached its decisions-per-hour limit")


@dataclass(slots=True)
class ActiveBlock:
    """A block in force, with who supports it."""

    target: str
    until: float
    scenario: str
    needed: int
    supporters: set[str] = field(default_factory=set)
    #: The members in the decision's evidence (who answers for it in trust).
    deciders: frozenset[str] = frozenset()
    created: float = 0.0
    #: A provisional block (one member's word): the duration it gets once corroborated
    #: (0: not provisional).
    full: float = 0.0


contributions = msgspec.json.Decoder(list[Contribution])


def too_wide(limit: int, config: PolicyConfig, version: int) -> str:
    widest = config.max_prefix_v4 if version == 4 else config.max_prefix_v6
    if limit == widest:
        return f"wider than /{limit}: only the operator blocks ranges this wide"
    return f"wider than /{limit}: the widest this member's trust allows (/{widest} at full trust)"


def contribution(member: str, signal: Signal, now: float) -> Contribution:
    return Contribution(
        member=member,
        scenario=signal.scenario,
        count=signal.count,
        first_seen=signal.first_seen,
        last_seen=signal.last_seen,
        received=now,
        reason=signal.reason[:SAMPLE_CHARS],
        sample=tuple(line[:SAMPLE_CHARS] for line in signal.evidence[:SAMPLE_LINES]),
        rule=signal.rule,
    )
