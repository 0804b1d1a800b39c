"""Proposals: who opens them, who signs them, when they publish, and what a handover keeps."""

from __future__ import annotations

import hashlib

import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import Admit, AppointChair, NeverBlockChange, PolicyChange, WideRange
from shieldwall.governance.history import history
from shieldwall.governance.proposals import publish
from shieldwall.governance.status import proposal_status
from shieldwall.signals.keys import public_key_of
from tests.governance.conftest import DAY, START, Keys, founded

FIVE = ("alice", "bob", "carol", "dave", "erin")
TERM = 30 * DAY


def policy(text: str) -> PolicyChange:
    return PolicyChange(hashlib.sha256(text.encode()).hexdigest())


def reason_of(call: object, *args: object) -> str:
    with pytest.raises(GovernanceError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.reason


def test_publish_with_k_minus_one_signatures_fails_and_with_k_takes_effect(keys: Keys) -> None:
    council = founded(keys, FIVE, ordinary=3, grave=4)
    proposal = council.sign(council.propose(policy("v2"), "alice", START + DAY), ["bob"])
    assert reason_of(publish, council.state, proposal, START + DAY) == "under-signed"
    assert council.state.policy_sha256 != policy("v2").policy_sha256
    council.publish(council.sign(proposal, ["erin"]), START + DAY)
    assert council.state.policy_sha256 == policy("v2").policy_sha256


def test_only_the_chair_opens_proposals(keys: Keys) -> None:
    council = founded(keys)
    assert reason_of(council.propose, policy("v2"), "bob", START + DAY) == "not-chair"
    assert reason_of(council.propose, policy("v2"), "mallory", START + DAY) == "not-on-council"


def test_any_councillor_opens_an_appointment_when_the_chairs_key_is_lost(keys: Keys) -> None:
    council = founded(keys, FIVE, ordinary=3, grave=4)
    appoint = council.propose(AppointChair("carol"), "bob", START + DAY, note="alice lost her key")
    council.publish(council.sign(appoint, ["carol", "dave"]), START + 2 * DAY)
    assert reason_of(council.propose, policy("v2"), "alice", START + 3 * DAY) == "not-chair"
    assert council.propose(policy("v2"), "carol", START + 3 * DAY).act.opened_by == "carol"


def test_a_signer_off_the_council_cannot_sign(keys: Keys) -> None:
    council = founded(keys)
    proposal = council.propose(policy("v2"), "alice", START + DAY)
    assert reason_of(council.sign, proposal, ["mallory"]) == "not-on-council"


def test_the_same_act_cannot_be_published_twice(keys: Keys) -> None:
    council = founded(keys)
    proposal = council.sign(council.propose(policy("v2"), "alice", START + DAY), ["bob"])
    council.publish(proposal, START + DAY)
    assert reason_of(publish, council.state, proposal, START + 2 * DAY) == "replayed"


def test_a_scheduled_handover_keeps_three_open_proposals_and_their_signatures(keys: Keys) -> None:
    council = founded(keys, FIVE, ordinary=3, grave=4, term_days=30, delegated=("wide-range",))
    dave_key = public_key_of(keys.seed("dave-org")).hex()
    opened = [
        council.propose(policy("v2"), "alice", START + DAY),
        council.sign(council.propose(NeverBlockChange("e" * 64), "alice", START + 2 * DAY), ["bob"]),
        council.sign(council.propose(Admit("dave-org", dave_key), "alice", START + 3 * DAY), ["carol"]),
    ]
    before = [proposal_status(council.state, p, START + TERM - 1) for p in opened]
    after = [proposal_status(council.state, p, START + TERM) for p in opened]
    # The chair changed; nothing else did.
    assert {s.chair for s in before} == {"alice"} and {s.chair for s in after} == {"bob"}
    assert [s.counts for s in before] == [s.counts for s in after]
    assert [s.counts[0].signers for s in after] == [("alice",), ("alice", "bob"), ("alice", "carol")]
    assert not any(s.publishable for s in after)
    # The old chair can no longer act as chair: no new proposals, no delegated act alone.
    assert reason_of(council.propose, policy("v3"), "alice", START + TERM) == "not-chair"
    wide = council.propose(WideRange("198.51.100.0/24", until=0), "bob", START + TERM)
    # The new chair completes every carried-over proposal.
    completed = [council.sign(opened[0], ["bob", "carol"]), council.sign(opened[1], ["erin"]),
                 council.sign(opened[2], ["bob"])]
    for proposal in completed:
        council.publish(proposal, START + TERM + DAY)
    council.publish(wide, START + TERM + DAY)
    assert council.state.policy_sha256 == policy("v2").policy_sha256
    assert council.state.never_block_sha256 == "e" * 64
    assert council.state.members == {"dave-org": dave_key}
    assert council.state.wide_ranges == (WideRange("198.51.100.0/24", until=0),)
    # History shows the handover and what it carried over.
    entries = history(council.records, START + TERM + 2 * DAY)
    handover = [e for e in entries if e.event == "handover" and "bob" in e.summary]
    assert len(handover) == 1 and "carries over 3 open proposal(s)" in handover[0].summary
    assert all(p.id in handover[0].summary for p in opened)


def test_an_old_chairs_delegated_act_is_refused_after_the_handover(keys: Keys) -> None:
    council = founded(keys, FIVE, ordinary=3, grave=4, term_days=30, delegated=("wide-range",))
    wide = council.propose(WideRange("198.51.100.0/24", until=0), "alice", START + DAY)
    assert reason_of(publish, council.state, wide, START + TERM) == "under-signed"
    council.publish(wide, START + TERM - 1)


def test_an_act_that_would_not_read_back_is_refused_before_it_is_signed(keys: Keys) -> None:
    council = founded(keys)
    assert reason_of(council.propose, policy("v2"), "alice", START + DAY, "x" * 2000) == "malformed"
    assert reason_of(council.propose, WideRange("198.51.100.0/24", until=-1), "alice", START + DAY) == (
        "malformed")
