"""Counting signers: one vote per councillor, nothing for outsiders or forgeries."""

from __future__ import annotations

import hashlib

from shieldwall.governance.signatures import Signature, sign_digest, tally, verifies
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of

MESSAGE = hashlib.sha256(b"act").digest()


def council_of(*seeds: bytes) -> dict[str, tuple[str, str]]:
    return {key_id_of(public_key_of(s)): (f"c{i}", public_key_of(s).hex()) for i, s in enumerate(seeds)}


def test_a_signature_verifies_only_for_its_key_and_message() -> None:
    seed, other = new_seed(), new_seed()
    signature = sign_digest(seed, MESSAGE)
    assert verifies(public_key_of(seed).hex(), MESSAGE, signature.sig)
    assert not verifies(public_key_of(other).hex(), MESSAGE, signature.sig)
    assert not verifies(public_key_of(seed).hex(), hashlib.sha256(b"other").digest(), signature.sig)


def test_the_same_signer_twice_counts_once() -> None:
    a, b = new_seed(), new_seed()
    signature = sign_digest(a, MESSAGE)
    counted = tally(MESSAGE, [signature, signature, signature], council_of(a, b))
    assert counted.signers == frozenset({"c0"})
    assert counted.duplicates == 2
    assert not counted.meets(2)


def test_a_signer_not_on_the_council_is_not_counted() -> None:
    a, outsider = new_seed(), new_seed()
    counted = tally(MESSAGE, [sign_digest(outsider, MESSAGE)], council_of(a))
    assert counted.signers == frozenset()
    assert counted.strangers == (key_id_of(public_key_of(outsider)),)


def test_a_forged_signature_under_a_councillors_key_id_is_not_counted() -> None:
    a, forger = new_seed(), new_seed()
    forged = Signature(key_id=key_id_of(public_key_of(a)), sig=sign_digest(forger, MESSAGE).sig)
    counted = tally(MESSAGE, [forged], council_of(a))
    assert counted.signers == frozenset()
    assert counted.forged == (forged.key_id,)
    assert "forged" in counted.explain(1, "the council")


def test_a_signature_of_another_message_is_a_forgery_here() -> None:
    a = new_seed()
    counted = tally(MESSAGE, [sign_digest(a, hashlib.sha256(b"x").digest())], council_of(a))
    assert counted.signers == frozenset() and len(counted.forged) == 1


def test_a_memo_shared_by_two_tallies_verifies_each_signature_once() -> None:
    a, b = new_seed(), new_seed()
    memo: dict[tuple[str, str, str], bool] = {}
    signatures = [sign_digest(a, MESSAGE), sign_digest(b, MESSAGE)]
    first = tally(MESSAGE, signatures, council_of(a, b), memo)
    assert len(memo) == 2
    second = tally(MESSAGE, signatures, council_of(b, a), memo)
    assert len(memo) == 2 and len(first.signers) == len(second.signers) == 2
    forged = Signature(key_id=signatures[0].key_id, sig=signatures[1].sig)
    assert tally(MESSAGE, [forged], council_of(a), memo).forged == (forged.key_id,)
