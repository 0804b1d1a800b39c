"""Rebuilding the policy from ledger rows: blocks, lifts, drills, trust and sightings
come back as they were; unreadable rows cost nothing but their own effect."""

from __future__ import annotations

import msgspec

from shieldwall.addresses import parse_ranges
from shieldwall.decisions.decision import Decision
from shieldwall.hub.ledger.storage import StoredDecision, StoredSignal
from shieldwall.hub.policy import Block, Policy, load_policy
from shieldwall.hub.policy_values import DISPUTE_LIFT, OPERATOR_LIFT, Contribution
from shieldwall.hub.policy_view import PolicyRows
from shieldwall.hub.trust import TrustEvent
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
ATTACKER = "45.13.7.9"


def stored(cursor: int, target: str = ATTACKER, *, action: str = "block", scenario: str = "ssh-bruteforce",
           origin: str = "alice", created: float = NOW - 100, drill: str = "",
           evidence: bytes | None = None) -> StoredDecision:
    decision = Decision(cursor=cursor, action=action, target=target, until=NOW + 3600,  # type: ignore[arg-type]
                        scenario=scenario, origin=origin, created=created, drill=drill)
    if evidence is None:
        evidence = msgspec.json.encode([Contribution(member=origin, scenario=scenario, count=6,
                                                     first_seen=created, last_seen=created,
                                                     received=created)])
    return StoredDecision(decision, origin, evidence)


def signal(member: str, target: str = ATTACKER, *, kind: str = "detection",
           scenario: str = "http-probing", outcome: str = "quorum") -> StoredSignal:
    return StoredSignal(member, Signal(kind=kind, target=target, scenario=scenario),  # type: ignore[arg-type]
                        NOW - 10, outcome, "", None)


def rebuilt(decisions: list[StoredDecision], signals: list[StoredSignal] = (),  # type: ignore[assignment]
            charges: list[tuple[str, float]] = (), events: list[TrustEvent] = ()) -> Policy:  # type: ignore[assignment]
    p = Policy(load_policy(), parse_ranges("", "test"))
    p.restore(PolicyRows(decisions=decisions, charges=list(charges), signals=list(signals)), NOW,
              events)
    return p


def test_a_drill_decision_never_comes_back_as_a_real_block() -> None:
    p = rebuilt([stored(1, "192.0.2.7", drill="d1")])
    assert "192.0.2.7" not in p.active and not p.offenses


def test_an_operator_lift_ends_the_block_and_costs_its_deciders_trust() -> None:
    p = rebuilt([stored(1), stored(2, action="lift", scenario=OPERATOR_LIFT, origin="operator")])
    assert ATTACKER not in p.active and ATTACKER in p.lifted
    assert p.trust.standing("alice").lifted == 1


def test_a_dispute_lift_counts_as_an_upheld_dispute_and_a_lift_of_nothing_costs_nothing() -> None:
    p = rebuilt([stored(1), stored(2, action="lift", scenario=DISPUTE_LIFT, origin="bob"),
                 stored(3, "203.0.113.50", action="lift", scenario=OPERATOR_LIFT)])
    assert p.trust.standing("alice").upheld == 1 and ATTACKER not in p.active
    assert "203.0.113.50" in p.lifted


def test_unreadable_evidence_still_restores_the_block() -> None:
    p = rebuilt([stored(1, evidence=b"not json")])
    assert p.active[ATTACKER].deciders == frozenset()


def test_trust_events_replay_in_time_order_around_the_decisions() -> None:
    quarantine = TrustEvent("quarantine", "mallory", NOW - 200, "canary")
    release = TrustEvent("release", "mallory", NOW - 50, "council")
    p = rebuilt([stored(1, created=NOW - 100)], events=[release, quarantine])
    assert not p.trust.standing("mallory").quarantined
    late = rebuilt([stored(1, created=NOW - 100)], events=[quarantine])
    assert late.trust.standing("mallory").quarantined


def test_charges_come_back_and_sightings_follow_their_outcomes() -> None:
    p = rebuilt([], signals=[
        signal("alice"),                                   # a quorum sighting: kept
        signal("bob", outcome="canary"),                   # did not count: not kept
        signal("carol", target="not-an-address"),          # unreadable: ignored
        signal("dave", scenario="ssh-bruteforce", outcome="probation"),  # waits for corroboration
        signal("erin"), signal("erin", kind="retract"),    # withdrawn again
    ], charges=[("alice", NOW - 30)])
    assert list(p.charges["alice"]) == [NOW - 30]
    members = {m for seen in p.sightings.values() for m in seen}
    assert members == {"alice", "dave"}
    # The restored quorum sighting completes with a second member's word.
    outcome = p.decide("frank", Signal(kind="detection", target=ATTACKER, scenario="http-probing"), NOW)
    assert isinstance(outcome.decision, Block)


def test_a_released_member_is_told_and_releasing_a_free_member_is_nothing() -> None:
    p = rebuilt([], events=[TrustEvent("quarantine", "mallory", NOW - 5, "canary")])
    assert p.release("mallory", NOW, "council vote") is not None
    assert p.release("mallory", NOW, "again") is None
