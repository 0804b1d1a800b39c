"""A proposal's status agrees with what publishing would do."""

from __future__ import annotations

import hashlib

import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import CharterChange, PolicyChange, WideRange, signed_digest
from shieldwall.governance.amend import amend
from shieldwall.governance.proposals import with_signatures
from shieldwall.governance.signatures import Signature
from shieldwall.governance.status import check_signature, proposal_status
from tests.governance.conftest import DAY, START, Keys, founded


def test_status_counts_signers_names_the_missing_and_agrees_with_publish(keys: Keys) -> None:
    council = founded(keys)
    proposal = council.propose(PolicyChange(hashlib.sha256(b"2").hexdigest()), "alice", START + DAY)
    pending = proposal_status(council.state, proposal, START + DAY)
    assert (pending.counts[0].signers, pending.counts[0].missing) == (("alice",), ("bob", "carol"))
    assert not pending.publishable and "1 of the 2 required" in pending.problem
    ready = proposal_status(council.state, council.sign(proposal, ["carol"]), START + DAY)
    assert ready.publishable and ready.problem == ""


def test_a_charter_change_is_counted_against_the_old_and_the_new_council(keys: Keys) -> None:
    council = founded(keys)
    assert council.state.trusted is not None
    v2 = amend(council.state.trusted.charter, START, remove=["carol"], add=[keys.card("dave")])
    proposal = council.sign(council.propose(CharterChange(v2), "alice", START), ["dave"])
    status = proposal_status(council.state, proposal, START)
    assert [(c.council, c.signers) for c in status.counts] == [
        ("v1 council", ("alice",)), ("v2 council", ("alice", "dave"))]
    assert not status.publishable and "v1 council signed by 1" in status.problem


def test_status_says_when_the_chair_alone_may_publish(keys: Keys) -> None:
    council = founded(keys, delegated=("wide-range",))
    proposal = council.propose(WideRange("198.51.100.0/24", until=0), "alice", START + DAY)
    status = proposal_status(council.state, proposal, START + DAY)
    assert status.chair == "alice" and status.chair_may_publish and status.publishable
    assert not proposal_status(council.state, proposal, START + 30 * DAY).publishable


def test_a_signature_taken_in_is_checked_as_the_status_counts_it(keys: Keys) -> None:
    council = founded(keys)
    proposal = council.propose(PolicyChange(hashlib.sha256(b"2").hexdigest()), "alice", START + DAY)
    other = council.propose(PolicyChange(hashlib.sha256(b"3").hexdigest()), "alice", START + DAY)
    (carol,) = keys.sign(signed_digest(proposal.act), ["carol"])
    assert check_signature(council.state, proposal, carol) == "carol"
    assert proposal_status(council.state, with_signatures(proposal, [carol]), START + DAY).publishable
    (elsewhere,) = keys.sign(signed_digest(other.act), ["carol"])
    (stranger,) = keys.sign(signed_digest(proposal.act), ["mallory"])
    flipped = Signature(carol.key_id, ("0" if carol.sig[0] != "0" else "1") + carol.sig[1:])
    for signature, reason in ((elsewhere, "forged"), (flipped, "forged"), (stranger, "not-on-council")):
        with pytest.raises(GovernanceError) as refused:
            check_signature(council.state, proposal, signature)
        assert refused.value.reason == reason and proposal.id in str(refused.value)


def test_a_seat_in_a_proposed_charter_may_sign_that_charter_change(keys: Keys) -> None:
    council = founded(keys)
    assert council.state.trusted is not None
    v2 = amend(council.state.trusted.charter, START, remove=["carol"], add=[keys.card("dave")])
    proposal = council.propose(CharterChange(v2), "alice", START)
    (dave,) = keys.sign(signed_digest(proposal.act), ["dave"])
    assert check_signature(council.state, proposal, dave) == "dave"
