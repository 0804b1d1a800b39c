"""Disputes: weighed against the deciders' trust, lifting alliance-wide when they outweigh."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest

from shieldwall.addresses import Ranges
from shieldwall.hub.disputes import (
    EVIDENCE_LINES,
    Dispute,
    DisputeRecord,
    decode_record,
    dispute,
    encode_record,
    restore_dispute,
)
from shieldwall.hub.policy import Block, Policy, load_policy
from shieldwall.hub.trust import Trust, TrustEvent
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
DAY = 86400.0
TARGET = "45.13.7.9"
JOINED = {"founder": NOW - 30 * DAY, "founder2": NOW - 30 * DAY, "old": NOW - 10 * DAY,
          "new": NOW}


def policy() -> Policy:
    config = load_policy()
    # Full-length blocks: disputes against provisional ones are in test_policy_solo.py.
    config = replace(config, trust=replace(config.trust, solo_duration=0.0, solo_quorum=False))
    return Policy(config, Ranges(), trust=Trust(config.trust, joined=JOINED))


def blocked_by(p: Policy, member: str, target: str = TARGET) -> None:
    outcome = p.decide(member, Signal(kind="detection", target=target, scenario="ssh-bruteforce"),
                       NOW)
    assert isinstance(outcome.decision, Block)


def test_a_trusted_members_dispute_lifts_a_weaker_members_block_and_costs_it() -> None:
    p = policy()
    for _ in range(3):
        p.trust.corroborated(["founder2", "old"])  # "old" weighs 0.3
    blocked_by(p, "old")
    outcome, lifts = dispute(p, "founder", Dispute(TARGET, "customer", ("login ok",)), NOW + 60)
    assert outcome.kind == "lifted" and [(x.target, x.scenario) for x in lifts] == [
        (TARGET, "dispute-lift")]
    assert TARGET not in p.active and p.trust.standing("old").upheld == 1
    assert not p.trust.trusted("old", NOW)  # 3 credits - 3 penalty: back on probation
    assert TARGET in p.lifted  # re-blocking it now needs two members


def test_a_dispute_weighing_less_than_the_block_is_kept_but_lifts_nothing() -> None:
    p = policy()
    blocked_by(p, "founder")
    outcome, lifts = dispute(p, "new", Dispute(TARGET, "logins"), NOW + 60)
    assert (outcome.kind, lifts) == ("disputed", [])
    assert "disputes weigh 0.00 < support 1.00" in outcome.detail
    assert TARGET in p.active and p.disputes[TARGET] == {"new": 0.0}


def test_disputes_add_up_and_a_range_dispute_reaches_the_blocks_inside() -> None:
    p = policy()
    blocked_by(p, "founder")
    p.trust.corroborated(["founder2", "old"])
    assert dispute(p, "old", Dispute("45.13.7.0/24", "allowlist"), NOW + 1)[0].kind == "disputed"
    outcome, lifts = dispute(p, "founder2", Dispute("45.13.7.0/24", "allowlist"), NOW + 2)
    assert len(lifts) == 1 and outcome.kind == "lifted"


def test_a_member_cannot_dispute_its_own_block_and_a_quarantined_one_disputes_nothing() -> None:
    p = policy()
    blocked_by(p, "founder")
    own, _ = dispute(p, "founder", Dispute(TARGET, "other"), NOW + 1)
    assert own.kind == "disputed" and "retract it instead" in own.detail
    p.trust.apply(TrustEvent("quarantine", "founder2", NOW, "canary"))
    refused, lifts = dispute(p, "founder2", Dispute(TARGET, "customer"), NOW + 2)
    assert refused.kind == "quarantined" and lifts == []
    nothing, _ = dispute(p, "founder2", Dispute("45.13.8.1", "customer"), NOW + 2)
    assert nothing.kind == "quarantined"
    none, _ = dispute(p, "old", Dispute("45.13.8.1", "customer"), NOW + 2)
    assert none.detail == "no active block covers 45.13.8.1"


def test_a_journalled_dispute_is_weighed_again_after_a_rebuild_without_lifting() -> None:
    p = policy()
    for _ in range(6):
        p.trust.corroborated(["founder2", "old"])
    blocked_by(p, "founder2")
    record = DisputeRecord("old", NOW + 5, Dispute(TARGET, "customer"), "disputed", "")
    assert decode_record(encode_record(record)) == record
    restore_dispute(p, record)
    assert TARGET in p.active and p.disputes[TARGET] == {"old": 0.6}
    early = msgspec.structs.replace(record, member="founder", at=NOW - 5)
    restore_dispute(p, early)  # older than the block: about an earlier one
    assert "founder" not in p.disputes[TARGET]


@pytest.mark.parametrize("body", [
    b'{"target":"1.2.3.4","reason":"customer","extra":1}',
    b'{"target":"1.2.3.4","reason":"because"}',
    b'{"target":"1.2.3.4","reason":"other","evidence":["' + b"x" * 513 + b'"]}',
    b'{"target":"1.2.3.4","reason":"other","evidence":[' + b",".join(
        [b'"l"'] * (EVIDENCE_LINES + 1)) + b"]}",
])
def test_a_hostile_dispute_body_is_refused(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=Dispute)


def test_an_unparsable_target_is_invalid_and_an_unreadable_record_is_skipped() -> None:
    assert dispute(policy(), "old", Dispute("not-an-ip", "other"), NOW)[0].kind == "invalid"
    assert decode_record(b"{}") is None
