"""The charter's guard rails and canonical bytes."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.charter import (
    MAX_CHARTER_BYTES,
    Thresholds,
    charter_digest,
    check_rules,
    decode_signed_charter,
    threshold_for,
)
from tests.governance.conftest import Keys, founding

replace = msgspec.structs.replace


def refused(charter: object) -> str:
    with pytest.raises(GovernanceError) as caught:
        check_rules(charter)  # type: ignore[arg-type]
    assert caught.value.reason == "invalid"
    return str(caught.value)


def test_a_threshold_below_a_majority_is_refused(keys: Keys) -> None:
    charter = founding(keys, ("a", "b", "c", "d"), ordinary=3, grave=3)
    assert "majority (3)" in refused(replace(charter, thresholds=Thresholds(2, 3)))


def test_a_threshold_above_the_council_size_is_refused(keys: Keys) -> None:
    charter = founding(keys)
    refused(replace(charter, thresholds=Thresholds(2, 4)))
    refused(replace(charter, thresholds=Thresholds(4, 4)))


def test_the_grave_threshold_is_not_below_the_ordinary_one(keys: Keys) -> None:
    charter = founding(keys, ("a", "b", "c", "d", "e"), ordinary=4, grave=4)
    refused(replace(charter, thresholds=Thresholds(4, 3)))


def test_two_seats_with_one_key_are_refused(keys: Keys) -> None:
    charter = founding(keys)
    twin = replace(charter.council[1], name="bob2")
    assert "share a key" in refused(replace(charter, council=(*charter.council, twin)))


def test_charter_changes_are_always_grave_and_never_delegated(keys: Keys) -> None:
    charter = founding(keys)
    refused(replace(charter, grave=("expel",)))
    refused(replace(charter, delegated=("expel",)))
    refused(replace(charter, delegated=("appoint-chair",)))
    check_rules(replace(charter, delegated=("wide-range",)))


def test_the_rotation_lists_councillors_only_once(keys: Keys) -> None:
    charter = founding(keys)
    refused(replace(charter, rotation=replace(charter.rotation, order=("alice", "mallory"))))
    refused(replace(charter, rotation=replace(charter.rotation, order=("alice", "alice"))))
    refused(replace(charter, rotation=replace(charter.rotation, term="calendar-year", days=30)))


def test_a_charter_that_expires_before_it_is_issued_is_refused(keys: Keys) -> None:
    charter = founding(keys)
    refused(replace(charter, expires=charter.issued))


def test_thresholds_depend_on_the_kind_of_act(keys: Keys) -> None:
    charter = founding(keys, ("a", "b", "c", "d", "e"), ordinary=3, grave=4)
    assert threshold_for(charter, "policy") == 3
    assert threshold_for(charter, "expel") == 4 and threshold_for(charter, "charter") == 4


def test_decoding_refuses_unknown_fields_and_oversized_input(keys: Keys) -> None:
    signed = keys.sign_charter(founding(keys), ["alice", "bob"])
    raw = msgspec.json.decode(msgspec.json.encode(signed))
    raw["charter"]["owner"] = "hub"
    with pytest.raises(GovernanceError, match="owner") as caught:
        decode_signed_charter(msgspec.json.encode(raw))
    assert caught.value.reason == "malformed"
    with pytest.raises(GovernanceError, match="limit"):
        decode_signed_charter(b" " * (MAX_CHARTER_BYTES + 1))


def test_the_digest_survives_a_round_trip_and_changes_with_any_field(keys: Keys) -> None:
    signed = keys.sign_charter(founding(keys), ["alice", "bob"])
    decoded = decode_signed_charter(msgspec.json.encode(signed))
    assert charter_digest(decoded.charter) == charter_digest(signed.charter)
    assert charter_digest(replace(signed.charter, expires=signed.charter.expires + 1)) != charter_digest(
        signed.charter)
