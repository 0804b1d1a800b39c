"""A proposal's status agrees with what publishing would do."""

from __future__ import annotations

import hashlib

from shieldwall.governance.acts import CharterChange, PolicyChange, WideRange
from shieldwall.governance.amend import amend
from shieldwall.governance.status import proposal_status
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
