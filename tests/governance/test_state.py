"""The act log folded into the council's state: every record re-verified, in order, once."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import Admit, CharterChange, Expel, PolicyChange
from shieldwall.governance.amend import amend
from shieldwall.governance.charter import charter_digest
from shieldwall.governance.proposals import publish
from shieldwall.governance.state import in_force, replay
from shieldwall.signals.keys import public_key_of
from tests.governance.conftest import DAY, START, Council, Keys, founded

replace = msgspec.structs.replace


def policy(text: str) -> PolicyChange:
    return PolicyChange(hashlib.sha256(text.encode()).hexdigest())


def busy_council(keys: Keys) -> Council:
    council = founded(keys)
    acme = public_key_of(keys.seed("acme")).hex()
    council.publish(council.sign(council.propose(Admit("acme", acme), "alice", START + DAY), ["bob"]),
                    START + DAY)
    council.publish(council.sign(council.propose(policy("v2"), "alice", START + 2 * DAY), ["carol"]),
                    START + 2 * DAY)
    return council


def replay_reason(records: object, pinned: bytes | None = None) -> str:
    with pytest.raises(GovernanceError) as caught:
        replay(records, pinned)  # type: ignore[arg-type]
    return caught.value.reason


def test_replaying_the_log_reaches_the_same_state(keys: Keys) -> None:
    council = busy_council(keys)
    pinned = council.records[0].act.effect.charter  # type: ignore[union-attr]
    state = replay(council.records, charter_digest(pinned))
    assert state.members == council.state.members and state.policy_sha256 == policy("v2").policy_sha256
    assert state.head == council.state.head and state.seq == 3


def test_an_edited_dropped_or_reordered_record_breaks_the_chain(keys: Keys) -> None:
    records = busy_council(keys).records
    # published_at is not covered by the councillors' signatures, only by the chain.
    redated = replace(records[1], published_at=records[1].published_at + 1)
    assert replay_reason([records[0], redated, records[2]]) == "out-of-order"
    assert replay_reason([records[0], records[2]]) == "out-of-order"
    assert replay_reason([records[0], records[2], records[1]]) == "out-of-order"


def test_a_rewritten_act_fails_its_signatures(keys: Keys) -> None:
    records = busy_council(keys).records
    noted = replace(records[2], act=replace(records[2].act, note="edited"))
    assert replay_reason([*records[:2], noted]) == "forged"
    evil = replace(records[2], act=replace(records[2].act, effect=policy("evil")))
    assert replay_reason([*records[:2], evil]) == "forged"


def test_the_log_must_start_with_the_pinned_founding_charter(keys: Keys) -> None:
    council = busy_council(keys)
    assert replay_reason(council.records[1:]) == "out-of-order"
    assert replay_reason(council.records, b"\x00" * 32) == "forked"


def test_expulsion_cuts_the_member_and_admission_of_a_duplicate_is_refused(keys: Keys) -> None:
    council = busy_council(keys)
    acme = council.state.members["acme"]
    again = council.sign(council.propose(Admit("acme-2", acme), "alice", START + 3 * DAY), ["bob"])
    assert _reason(publish, council.state, again, START + 3 * DAY) == "invalid"
    expel = council.sign(council.propose(Expel("acme"), "alice", START + 3 * DAY), ["bob"])
    council.publish(expel, START + 3 * DAY)
    assert "acme" not in council.state.members and "acme" in council.state.expelled
    twice = council.sign(council.propose(Expel("acme"), "alice", START + 4 * DAY), ["bob"])
    assert _reason(publish, council.state, twice, START + 4 * DAY) == "invalid"


def _reason(call: object, *args: object) -> str:
    with pytest.raises(GovernanceError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.reason


def test_a_charter_change_through_the_log_moves_every_act_to_the_new_version(keys: Keys) -> None:
    council = busy_council(keys)
    pending = council.sign(council.propose(policy("v3"), "alice", START + 3 * DAY), ["bob"])
    assert council.state.trusted is not None
    v2 = amend(council.state.trusted.charter, START + 3 * DAY, remove=["carol"], add=[keys.card("dave")])
    change = council.sign(council.propose(CharterChange(v2), "alice", START + 3 * DAY), ["bob", "dave"])
    council.publish(change, START + 3 * DAY)
    assert council.state.trusted.charter.version == 2
    # v2 carries the founding policy hash: the charter says what the policy is from now on.
    assert council.state.policy_sha256 == v2.policy_sha256
    assert _reason(publish, council.state, pending, START + 4 * DAY) == "wrong-charter"
    assert _reason(council.sign, pending, ["carol"]) == "wrong-charter"


def test_no_act_is_published_under_an_expired_charter_but_a_successor_is(keys: Keys) -> None:
    council = founded(keys)
    assert council.state.trusted is not None
    expires = council.state.trusted.charter.expires
    late = council.sign(council.propose(policy("v2"), "alice", expires), ["bob"])
    assert _reason(publish, council.state, late, expires) == "expired"
    successor = amend(council.state.trusted.charter, expires)
    change = council.sign(council.propose(CharterChange(successor), "alice", expires), ["bob"])
    council.publish(change, expires)
    assert council.state.trusted.charter.version == 2


def test_a_member_acts_only_on_a_fresh_state_from_its_pinned_founding(keys: Keys) -> None:
    council = busy_council(keys)
    founding = council.records[0].act.effect
    assert isinstance(founding, CharterChange)
    pinned = charter_digest(founding.charter)
    assert in_force(council.records, pinned, START + 3 * DAY).members.keys() == {"acme"}
    assert _reason(in_force, council.records, pinned, founding.charter.expires) == "expired"
    assert _reason(in_force, [], pinned, START) == "no-council"
    assert _reason(in_force, council.records, b"\x01" * 32, START) == "forked"


def test_a_member_refuses_a_log_that_does_not_extend_what_it_verified(keys: Keys) -> None:
    council = busy_council(keys)
    founding = council.records[0].act.effect
    assert isinstance(founding, CharterChange)
    pinned, now = charter_digest(founding.charter), START + 3 * DAY
    known = (council.state.seq, council.state.head)
    assert in_force(council.records, pinned, now, known).seq == 3
    assert _reason(in_force, council.records[:2], pinned, now, known) == "rolled-back"
    # Same founding (same keys and times give the same bytes), a different third act.
    fork = founded(keys)
    acme = public_key_of(keys.seed("acme")).hex()
    fork.publish(fork.sign(fork.propose(Admit("acme", acme), "alice", START + DAY), ["bob"]), START + DAY)
    forked = fork.sign(fork.propose(policy("fork"), "alice", START + 2 * DAY), ["carol"])
    fork.publish(forked, START + 2 * DAY)
    assert fork.records[:2] == council.records[:2]
    assert _reason(in_force, fork.records, pinned, now, known) == "rolled-back"
