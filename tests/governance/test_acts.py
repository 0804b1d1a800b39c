"""Whether signatures carry an act: thresholds per kind, the chair's delegated acts."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import (
    Act,
    Admit,
    Expel,
    PolicyChange,
    WideRange,
    check_act,
    kind_of,
    signed_digest,
)
from shieldwall.governance.chair import Appointment
from shieldwall.governance.charter import charter_digest
from tests.governance.conftest import ALLIANCE, DAY, START, Keys, founding

FIVE = ("a", "b", "c", "d", "e")
NEW_POLICY = PolicyChange(hashlib.sha256(b"policy v2").hexdigest())


def act(charter_hex: str, effect: object, alliance: str = ALLIANCE) -> Act:
    return Act(alliance=alliance, charter=charter_hex, effect=effect, opened_by="a",  # type: ignore[arg-type]
               opened_at=START)


def refusal(*args: object) -> GovernanceError:
    with pytest.raises(GovernanceError) as caught:
        check_act(*args)  # type: ignore[arg-type]
    return caught.value


def test_k_minus_one_signatures_fail_and_k_carry_an_ordinary_act(keys: Keys) -> None:
    charter = founding(keys, FIVE, ordinary=3, grave=4)
    digest = charter_digest(charter).hex()
    proposed = act(digest, NEW_POLICY)
    message = signed_digest(proposed)
    error = refusal(charter, digest, proposed, keys.sign(message, ["a", "b"]), START)
    assert error.reason == "under-signed" and "2 of the 3 required" in str(error)
    assert check_act(charter, digest, proposed, keys.sign(message, ["a", "b", "c"]), START) == "council"


def test_a_grave_act_needs_the_grave_threshold(keys: Keys) -> None:
    charter = founding(keys, FIVE, ordinary=3, grave=4)
    digest = charter_digest(charter).hex()
    expel = act(digest, Expel("acme"))
    assert kind_of(expel) == "expel"
    three = keys.sign(signed_digest(expel), ["a", "b", "c"])
    assert refusal(charter, digest, expel, three, START).reason == "under-signed"
    assert check_act(charter, digest, expel, keys.sign(signed_digest(expel), ["a", "b", "c", "e"]), START)


def test_the_chair_alone_signs_a_delegated_act_only_while_it_is_chair(keys: Keys) -> None:
    charter = founding(keys, FIVE, ordinary=3, grave=4, term_days=30, delegated=("wide-range",))
    digest = charter_digest(charter).hex()
    wide = act(digest, WideRange("203.0.113.0/24", until=0))
    by_chair = keys.sign(signed_digest(wide), ["a"])
    assert check_act(charter, digest, wide, by_chair, START + DAY) == "chair"
    # After the handover the old chair's signature is one vote among five again.
    assert refusal(charter, digest, wide, by_chair, START + 30 * DAY).reason == "under-signed"
    assert check_act(charter, digest, wide, keys.sign(signed_digest(wide), ["b"]), START + 30 * DAY)
    # An appointment moves the power at once.
    appointed = [Appointment(START + 2 * DAY, "e")]
    assert refusal(charter, digest, wide, by_chair, START + 3 * DAY, appointed).reason == "under-signed"


def test_the_chair_alone_cannot_sign_an_act_that_is_not_delegated(keys: Keys) -> None:
    charter = founding(keys, FIVE, ordinary=3, grave=4, delegated=("wide-range",))
    digest = charter_digest(charter).hex()
    policy = act(digest, NEW_POLICY)
    assert refusal(charter, digest, policy, keys.sign(signed_digest(policy), ["a"]), START).reason == (
        "under-signed")


def test_an_act_under_another_charter_or_alliance_is_refused(keys: Keys) -> None:
    charter = founding(keys)
    digest = charter_digest(charter).hex()
    stale = act("0" * 64, NEW_POLICY)
    signatures = keys.sign(signed_digest(stale), ["alice", "bob", "carol"])
    assert refusal(charter, digest, stale, signatures, START).reason == "wrong-charter"
    foreign = act(digest, NEW_POLICY, alliance="elsewhere")
    signatures = keys.sign(signed_digest(foreign), ["alice", "bob", "carol"])
    assert refusal(charter, digest, foreign, signatures, START).reason == "wrong-alliance"


def test_signatures_of_one_act_do_not_carry_another(keys: Keys) -> None:
    charter = founding(keys)
    digest = charter_digest(charter).hex()
    signatures = keys.sign(signed_digest(act(digest, NEW_POLICY)), ["alice", "bob"])
    other = act(digest, PolicyChange("f" * 64))
    assert refusal(charter, digest, other, signatures, START).reason == "forged"


def test_a_wide_range_must_be_a_network(keys: Keys) -> None:
    charter = founding(keys)
    digest = charter_digest(charter).hex()
    bad = act(digest, WideRange("not-a-range", until=0))
    assert refusal(charter, digest, bad, keys.sign(signed_digest(bad), ["alice", "bob"]), START).reason == (
        "invalid")


def test_an_admission_without_ranges_keeps_the_bytes_it_had_before_admissions_named_ranges() -> None:
    encoded = msgspec.json.encode(Admit("acme", "ab" * 32))
    assert encoded == b'{"type":"admit","member":"acme","public_key":"' + b"ab" * 32 + b'"}'
    assert msgspec.json.decode(encoded, type=Admit).owns == ()


def test_the_ranges_an_admission_names_must_be_addresses_or_networks(keys: Keys) -> None:
    charter = founding(keys)
    digest = charter_digest(charter).hex()
    bad = act(digest, Admit("acme", "ab" * 32, owns=("198.51.100.0/24", "not-a-range")))
    refused = refusal(charter, digest, bad, keys.sign(signed_digest(bad), ["alice", "bob"]), START)
    assert refused.reason == "invalid" and "owns" in str(refused)
    good = act(digest, Admit("acme", "ab" * 32, owns=("198.51.100.0/24",)))
    assert check_act(charter, digest, good, keys.sign(signed_digest(good), ["alice", "bob"]), START)
