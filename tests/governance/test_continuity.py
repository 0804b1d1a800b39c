"""Continuity: TUF's root-rotation rule, and every way a charter version is refused."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.amend import amend
from shieldwall.governance.charter import Councillor, SignedCharter, charter_digest
from shieldwall.governance.continuity import (
    Trusted,
    check_fresh,
    follow_chain,
    verify_founding,
    verify_successor,
)
from shieldwall.governance.signatures import Signature
from tests.governance.conftest import DAY, START, Keys, founding


def reason(call: object, *args: object) -> str:
    with pytest.raises(GovernanceError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.reason


@pytest.fixture
def v1(keys: Keys) -> Trusted:
    return verify_founding(keys.sign_charter(founding(keys), ["alice", "bob"]))


def test_a_founding_charter_needs_the_threshold_of_its_own_council(keys: Keys) -> None:
    charter = founding(keys)
    assert reason(verify_founding, keys.sign_charter(charter, ["alice"])) == "unsigned-by-new-council"
    trusted = verify_founding(keys.sign_charter(charter, ["alice", "carol"]))
    assert trusted.digest == charter_digest(charter)


def test_a_founding_charter_other_than_the_pinned_one_is_refused(keys: Keys) -> None:
    pinned = charter_digest(founding(keys))
    other = founding(keys, term_days=31)
    assert reason(verify_founding, keys.sign_charter(other, ["alice", "bob"]), pinned) == "forked"


def test_a_councillor_whose_key_did_not_sign_its_challenge_is_refused(keys: Keys) -> None:
    charter = founding(keys)
    stolen = Councillor(name="carol", public_key=charter.council[2].public_key,
                        proof=charter.council[0].proof)
    broken = msgspec.structs.replace(charter, council=(*charter.council[:2], stolen))
    assert reason(verify_founding, keys.sign_charter(broken, ["alice", "bob"])) == "unproven-key"


def test_a_rotation_replacing_one_key_with_both_thresholds_is_accepted(keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START, remove=["carol"], add=[keys.card("dave")])
    trusted = verify_successor(v1, keys.sign_charter(v2, ["alice", "bob", "dave"]))
    assert trusted.charter.version == 2
    assert [c.name for c in trusted.charter.council] == ["alice", "bob", "dave"]


def test_a_rotation_lacking_the_old_councils_threshold_is_rejected(keys: Keys, v1: Trusted) -> None:
    # The new council takes over: two new keys plus one old one sign, the old council's
    # threshold (2) is not met.
    v2 = amend(v1.charter, START, remove=["bob", "carol"], add=[keys.card("eve"), keys.card("frank")])
    signed = keys.sign_charter(v2, ["alice", "eve", "frank"])
    assert reason(verify_successor, v1, signed) == "unsigned-by-old-council"


def test_a_rotation_lacking_the_new_councils_threshold_is_rejected(keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START, remove=["bob", "carol"], add=[keys.card("eve"), keys.card("frank")])
    assert reason(verify_successor, v1, keys.sign_charter(v2, ["alice", "bob", "carol"])) == (
        "unsigned-by-new-council")


def test_forged_signatures_do_not_count_and_are_named(keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START)
    honest = keys.sign_charter(v2, ["alice"])
    mallory = Keys()
    forged = Signature(key_id=honest.signatures[0].key_id.replace(honest.signatures[0].key_id[0], "0"),
                       sig=mallory.sign(charter_digest(v2), ["m"])[0].sig)
    bob_key = keys.sign(charter_digest(v2), ["bob"])[0].key_id
    impostor = Signature(key_id=bob_key, sig=mallory.sign(charter_digest(v2), ["m"])[0].sig)
    signed = SignedCharter(v2, (*honest.signatures, forged, impostor))
    with pytest.raises(GovernanceError, match="forged signature") as caught:
        verify_successor(v1, signed)
    assert caught.value.reason == "forged"


def test_one_councillor_signing_twice_is_counted_once(keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START)
    once = keys.sign_charter(v2, ["alice"])
    assert reason(verify_successor, v1, SignedCharter(v2, once.signatures * 3)) == "unsigned-by-old-council"


def test_outsiders_signatures_are_worth_nothing(keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START)
    signed = SignedCharter(v2, keys.sign(charter_digest(v2), ["alice", "mallory", "trent"]))
    assert reason(verify_successor, v1, signed) == "unsigned-by-old-council"


def test_versions_must_follow_one_another(keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START)
    v3 = amend(v2, START + DAY)
    assert reason(verify_successor, v1, keys.sign_charter(v3, ["alice", "bob"])) == "wrong-version"
    trusted = verify_successor(v1, keys.sign_charter(v2, ["alice", "bob"]))
    assert reason(verify_successor, trusted, v1.signed) == "rolled-back"
    assert reason(verify_successor, trusted, keys.sign_charter(v2, ["alice", "bob"])) == "replayed"
    sibling = amend(v1.charter, START + 5)
    assert reason(verify_successor, trusted, keys.sign_charter(sibling, ["alice", "bob"])) == "forked"


def test_a_successor_must_name_the_trusted_version_as_previous(keys: Keys, v1: Trusted) -> None:
    v2 = msgspec.structs.replace(amend(v1.charter, START), previous="0" * 64)
    assert reason(verify_successor, v1, keys.sign_charter(v2, ["alice", "bob"])) == "forked"


def test_a_charter_for_another_alliance_is_refused(keys: Keys, v1: Trusted) -> None:
    v2 = msgspec.structs.replace(amend(v1.charter, START), alliance="elsewhere")
    assert reason(verify_successor, v1, keys.sign_charter(v2, ["alice", "bob"])) == "wrong-alliance"


def test_a_frozen_charter_is_refused_but_an_expired_intermediate_one_is_walked(
        keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START, lifetime=10 * DAY)
    v3 = amend(v2, START + 20 * DAY, lifetime=365 * DAY)
    chain = [v1.signed, keys.sign_charter(v2, ["alice", "bob"]), keys.sign_charter(v3, ["bob", "carol"])]
    assert follow_chain(v1, chain, START + 30 * DAY).charter.version == 3
    with pytest.raises(GovernanceError) as caught:
        follow_chain(v1, chain[:2], START + 30 * DAY)
    assert caught.value.reason == "expired"
    assert reason(check_fresh, v1, v1.charter.expires) == "expired"


def test_walking_a_chain_rechecks_each_link(keys: Keys, v1: Trusted) -> None:
    v2 = amend(v1.charter, START)
    v3 = amend(v2, START + DAY)
    chain = [v1.signed, keys.sign_charter(v2, ["alice"]), keys.sign_charter(v3, ["alice", "bob"])]
    assert reason(follow_chain, v1, chain, START) == "unsigned-by-old-council"


def test_keys_rotated_one_at_a_time_reach_an_entirely_new_council(keys: Keys, v1: Trusted) -> None:
    trusted, names = v1, ["alice", "bob", "carol"]
    for old, new in [("alice", "xena"), ("bob", "yuri"), ("carol", "zoe")]:
        names = [n for n in names if n != old]
        successor = amend(trusted.charter, START, remove=[old], add=[keys.card(new)])
        trusted = verify_successor(trusted, keys.sign_charter(successor, [*names, new, old]))
        names.append(new)
    assert {c.name for c in trusted.charter.council} == {"xena", "yuri", "zoe"}
