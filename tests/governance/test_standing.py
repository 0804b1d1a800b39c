"""The standing: policy versions the council signed, the hub keys, and the hub's own gate."""

from __future__ import annotations

import hashlib

import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import PolicyChange
from shieldwall.governance.charter import charter_digest
from shieldwall.governance.standing import charter_of, hub_problem, policy_version, standing
from shieldwall.signals.keys import new_seed, public_key_of
from tests.governance.conftest import DAY, NEVER_BLOCK, POLICY, START, Keys, founded

HUB = public_key_of(b"\x01" * 32).hex()


def test_the_policy_version_names_the_charter_version_and_cites_it() -> None:
    assert policy_version(3, POLICY) == f"v3:{POLICY}"
    assert charter_of(f"v3:{POLICY}") == "charter v3"
    assert charter_of("") == "no charter" and charter_of(POLICY) == "no charter"


def test_every_policy_the_council_put_in_force_stays_approved(keys: Keys) -> None:
    council = founded(keys)
    v2 = hashlib.sha256(b"policy v2").hexdigest()
    council.publish(council.sign(council.propose(PolicyChange(v2), "alice", START), ["bob"]), START)
    pinned = charter_digest(council.records[0].act.effect.charter)  # type: ignore[union-attr]
    state = standing(council.records, pinned, START)
    assert state.approved == {policy_version(1, POLICY), policy_version(1, v2)}
    assert state.version == policy_version(1, v2)


def test_a_hub_decides_only_with_the_councils_policy_list_and_key(keys: Keys) -> None:
    council = founded(keys)
    pinned = charter_digest(council.records[0].act.effect.charter)  # type: ignore[union-attr]
    state = standing(council.records, pinned, START)
    assert hub_problem(state, POLICY, NEVER_BLOCK, HUB) is None
    edited = hub_problem(state, "0" * 64, NEVER_BLOCK, HUB)
    assert edited is not None and "policy file" in edited and "council propose policy" in edited
    listed = hub_problem(state, POLICY, "1" * 64, HUB)
    assert listed is not None and "never-block" in listed
    stranger = hub_problem(state, POLICY, NEVER_BLOCK, public_key_of(new_seed()).hex())
    assert stranger is not None and "not a hub key" in stranger


def test_a_standing_from_a_different_founding_charter_is_refused(keys: Keys) -> None:
    council = founded(keys)
    with pytest.raises(GovernanceError) as caught:
        standing(council.records, b"\x00" * 32, START + DAY)
    assert caught.value.reason == "forked"
