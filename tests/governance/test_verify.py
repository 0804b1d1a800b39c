"""A member's check of the hub's decisions: nothing applies until a hub-signed checkpoint covers it."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from shieldwall.decisions.decision import Decision
from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import PolicyChange
from shieldwall.governance.charter import charter_digest
from shieldwall.governance.checkpoint import (
    GENESIS,
    Checkpoint,
    SignedCheckpoint,
    chain_over,
    sign_checkpoint,
)
from shieldwall.governance.standing import Standing, standing
from shieldwall.governance.verify import DecisionVerifier
from shieldwall.signals.keys import new_seed
from tests.governance.conftest import ALLIANCE, DAY, POLICY, START, Council, Keys, founded

HUB_SEED = b"\x01" * 32  # the conftest charter's hub key
NOW = START + DAY


def standing_of(council: Council, now: int = NOW) -> Standing:
    founding = council.records[0].act.effect.charter  # type: ignore[union-attr]
    return standing(council.records, charter_digest(founding), now)


def decisions(first: int, count: int, policy: str) -> list[Decision]:
    return [Decision(cursor=c, action="block", target=f"203.0.113.{c % 250}", until=NOW + 3600.0,
                     scenario="ssh-bruteforce", origin="acme", created=NOW, policy=policy)
            for c in range(first, first + count)]


def checkpoint(state: Standing, upto: list[Decision], before: bytes = GENESIS, seed: bytes = HUB_SEED,
               **changes: object) -> SignedCheckpoint:
    point = Checkpoint(alliance=ALLIANCE, cursor=upto[-1].cursor, chain=chain_over(before, upto).hex(),
                       acts_seq=state.state.seq, acts_head=state.state.head.hex(), issued=NOW)
    return sign_checkpoint(seed, msgspec.structs.replace(point, **changes))


def refusal(verifier: DecisionVerifier, signed: SignedCheckpoint, now: int = NOW) -> str:
    with pytest.raises(GovernanceError) as caught:
        verifier.checkpoint(signed, now)
    return caught.value.reason


def test_decisions_wait_for_a_checkpoint_and_then_apply_under_the_signed_policy(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 5, state.version)
    assert not any(verifier.decision(d) for d in batch)
    released = verifier.checkpoint(checkpoint(state, batch), NOW)
    assert released.accepted == batch and not released.refused
    assert verifier.cursor == 5 and verifier.chain == chain_over(GENESIS, batch)


def test_a_checkpoint_ahead_of_the_stream_releases_when_the_stream_reaches_it(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 3, state.version)
    assert not verifier.checkpoint(checkpoint(state, batch), NOW)
    assert not verifier.decision(batch[0]) and not verifier.decision(batch[1])
    assert verifier.decision(batch[2]).accepted == batch


def test_a_checkpoint_inside_the_pending_decisions_releases_only_what_it_covers(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 6, state.version)
    for d in batch:
        verifier.decision(d)
    assert verifier.checkpoint(checkpoint(state, batch[:4]), NOW).accepted == batch[:4]
    assert verifier.pending == 2
    rest = verifier.checkpoint(checkpoint(state, batch[4:], before=verifier.chain), NOW)
    assert rest.accepted == batch[4:]


def test_a_decision_under_a_policy_the_council_never_signed_is_refused_with_the_reason(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    edited = "v1:" + hashlib.sha256(b"edited behind the council's back").hexdigest()
    batch = decisions(1, 2, state.version) + decisions(3, 1, edited) + decisions(4, 1, "")
    for d in batch:
        verifier.decision(d)
    released = verifier.checkpoint(checkpoint(state, batch), NOW)
    assert [d.cursor for d in released.accepted] == [1, 2]
    assert [(r.cursor, r.reason) for r in released.refused] == [(3, "unsigned-policy"), (4, "no-policy")]
    assert "never signed" in released.refused[0].detail


def test_decisions_under_an_earlier_signed_policy_still_apply_after_a_policy_vote(keys: Keys) -> None:
    council = founded(keys)
    before = standing_of(council).version
    change = PolicyChange(hashlib.sha256(b"policy v2").hexdigest())
    council.publish(council.sign(council.propose(change, "alice", NOW), ["bob"]), NOW)
    state = standing_of(council)
    assert state.version != before and before in state.approved
    verifier = DecisionVerifier(state)
    batch = decisions(1, 1, before) + decisions(2, 1, state.version)
    for d in batch:
        verifier.decision(d)
    assert verifier.checkpoint(checkpoint(state, batch), NOW).accepted == batch


@pytest.mark.parametrize("tamper", ["altered", "dropped", "reordered", "inserted"])
def test_a_log_that_differs_from_the_signed_chain_is_an_incident(keys: Keys, tamper: str) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 4, state.version)
    signed = checkpoint(state, batch)
    served = list(batch)
    if tamper == "altered":
        served[1] = msgspec.structs.replace(served[1], target="198.51.100.9")
    elif tamper == "dropped":
        del served[1]
    elif tamper == "reordered":
        served[1], served[2] = msgspec.structs.replace(served[2], cursor=2), msgspec.structs.replace(
            served[1], cursor=3)
    else:
        served[3:3] = []
        served = served[:3] + decisions(4, 1, state.version)
        served[-1] = msgspec.structs.replace(served[-1], target="192.0.2.1")
    for d in served:
        verifier.decision(d)
    assert not verifier.checkpoint(signed, NOW)
    assert verifier.incident is not None and verifier.cursor == 0
    # Nothing is accepted afterwards, even correctly signed.
    assert not verifier.checkpoint(signed, NOW) and not verifier.decision(decisions(9, 1, state.version)[0])


def test_a_checkpoint_at_a_cursor_the_log_skips_is_an_incident(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 3, state.version)
    verifier.checkpoint(checkpoint(state, batch[:2]), NOW)
    verifier.decision(batch[0])
    verifier.decision(batch[2])  # cursor 2 never came
    assert verifier.incident is not None


def test_a_checkpoint_signed_by_another_key_or_forged_is_refused(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 2, state.version)
    for d in batch:
        verifier.decision(d)
    assert refusal(verifier, checkpoint(state, batch, seed=new_seed())) == "unknown-hub-key"
    good = checkpoint(state, batch)
    altered = msgspec.structs.replace(good.checkpoint, issued=NOW + 1)
    forged = msgspec.structs.replace(good, checkpoint=altered)
    assert refusal(verifier, forged) == "forged"
    assert refusal(verifier, checkpoint(state, batch, alliance="baltic")) == "wrong-alliance"
    assert verifier.pending == 2 and verifier.incident is None


def test_a_checkpoint_signed_under_an_older_act_log_is_refused_as_rolled_back(keys: Keys) -> None:
    council = founded(keys)
    old = standing_of(council)
    council.publish(council.sign(council.propose(PolicyChange(POLICY[::-1]), "alice", NOW), ["bob"]), NOW)
    state = standing_of(council)
    verifier = DecisionVerifier(state)
    batch = decisions(1, 1, old.version)
    verifier.decision(batch[0])
    assert refusal(verifier, checkpoint(old, batch)) == "rolled-back"
    assert refusal(verifier, checkpoint(state, batch, acts_head="ab" * 32)) == "forked"
    assert verifier.needs_acts(checkpoint(state, batch, acts_seq=state.state.seq + 1))


def test_a_frozen_charter_releases_nothing(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 1, state.version)
    verifier.decision(batch[0])
    assert state.state.trusted is not None
    assert refusal(verifier, checkpoint(state, batch), now=state.state.trusted.charter.expires) == "expired"


def test_a_resent_decision_is_ignored_and_a_resumed_verifier_continues_the_chain(keys: Keys) -> None:
    state = standing_of(founded(keys))
    verifier = DecisionVerifier(state)
    batch = decisions(1, 4, state.version)
    for d in batch[:2]:
        verifier.decision(d)
    verifier.checkpoint(checkpoint(state, batch[:2]), NOW)
    assert not verifier.decision(batch[1])  # a reconnect resends from an older cursor
    resumed = DecisionVerifier(state, verifier.cursor, verifier.chain)
    for d in batch[2:]:
        resumed.decision(d)
    assert resumed.checkpoint(checkpoint(state, batch), NOW).accepted == batch[2:]
