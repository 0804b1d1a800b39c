"""Drill orders: every member refuses a forged, replayed, expired or non-drill order."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.drills.order import (
    MAX_TTL,
    DrillOrder,
    OrderBody,
    StageLimit,
    covers,
    decode_order,
    refusal,
    sign_order,
    target_refusal,
    valid_stages,
)
from shieldwall.governance.signatures import Signature
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of

NOW = 1_800_000_000
SEED = new_seed()
TRUSTED = {key_id_of(public_key_of(SEED)): public_key_of(SEED).hex()}


def body(**changes: object) -> OrderBody:
    fields: dict[str, object] = {"id": "drill-0123abcd", "target": "192.0.2.7", "issued": NOW,
                                 "ttl": 120, "members": ("a", "b", "c")}
    fields.update(changes)
    return OrderBody(**fields)  # type: ignore[arg-type]


def test_a_well_formed_order_signed_by_the_operator_runs() -> None:
    assert refusal(sign_order(SEED, body()), TRUSTED, NOW + 1) is None


@pytest.mark.parametrize("target", ["8.8.8.8", "192.0.2.0/23", "0.0.0.0/0", "10.0.0.1",
                                    "2001:db8::/31", "::/0", "3fff::1", "example.com", "",
                                    "192.0.2.7 8.8.8.8", "192.0.2.256"])
def test_a_target_outside_the_documentation_ranges_is_refused(target: str) -> None:
    found = refusal(sign_order(SEED, body(target=target)), TRUSTED, NOW)
    assert found is not None and found.reason == "target"


def test_a_ttl_over_the_maximum_is_refused() -> None:
    assert refusal(sign_order(SEED, body(ttl=MAX_TTL)), TRUSTED, NOW) is None
    found = refusal(sign_order(SEED, body(ttl=MAX_TTL + 1)), TRUSTED, NOW)
    assert found is not None and found.reason == "ttl"


def test_an_order_past_its_ttl_or_from_the_future_is_refused() -> None:
    order = sign_order(SEED, body(ttl=60))
    expired = refusal(order, TRUSTED, NOW + 60)
    assert expired is not None and expired.reason == "expired"
    future = refusal(order, TRUSTED, NOW - 31)
    assert future is not None and future.reason == "future"


def test_an_order_seen_before_is_a_replay() -> None:
    found = refusal(sign_order(SEED, body()), TRUSTED, NOW, seen={"drill-0123abcd"})
    assert found is not None and found.reason == "replay"


def test_an_order_signed_by_another_key_or_altered_after_signing_is_refused() -> None:
    stranger = refusal(sign_order(new_seed(), body()), TRUSTED, NOW)
    assert stranger is not None and stranger.reason == "signature"
    signed = sign_order(SEED, body())
    # A hub (or anyone in between) swaps the target after the operator signed.
    altered = DrillOrder(msgspec.structs.replace(signed.body, target="192.0.2.8"), signed.signature)
    found = refusal(altered, TRUSTED, NOW)
    assert found is not None and found.reason == "signature"
    # The same key id with a signature of something else.
    other = sign_order(SEED, body(id="drill-ffffffff"))
    swapped = DrillOrder(signed.body, Signature(signed.signature.key_id, other.signature.sig))
    found = refusal(swapped, TRUSTED, NOW)
    assert found is not None and found.reason == "signature"


def test_a_forged_order_naming_a_real_address_is_refused_for_its_signature_first() -> None:
    # The reason a member gives must not depend on trusting the sender.
    found = refusal(sign_order(new_seed(), body(target="8.8.8.8")), TRUSTED, NOW)
    assert found is not None and found.reason == "signature"


@pytest.mark.parametrize("raw", [
    b"{}", b"[]", b"null", b'{"body": {}, "signature": {}}',
    b'{"body": {"id": "drill-../../etc", "target": "192.0.2.7", "issued": 1, "ttl": 60,'
    b' "members": ["a"]}, "signature": {"key_id": "' + b"0" * 32 + b'", "sig": "' + b"0" * 128
    + b'"}}',
    b'{"body": {"id": "drill-0123abcd", "target": "192.0.2.7", "issued": 1, "ttl": 60,'
    b' "members": [], "x": 1}, "signature": {"key_id": "' + b"0" * 32 + b'", "sig": "'
    + b"0" * 128 + b'"}}',
    b'{"body": {"id": "drill-0123abcd", "target": "192.0.2.7", "issued": 1, "ttl": 1e30,'
    b' "members": ["a"]}, "signature": {"key_id": "' + b"0" * 32 + b'", "sig": "' + b"0" * 128
    + b'"}}',
])
def test_hostile_wire_orders_do_not_decode(raw: bytes) -> None:
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)):
        decode_order(raw)


def test_an_order_round_trips_and_still_verifies() -> None:
    order = sign_order(SEED, body(limits=(StageLimit("push", 2.0),), stages=("detect",)))
    again = decode_order(msgspec.json.encode(order))
    assert again == order and refusal(again, TRUSTED, NOW) is None
    assert again.body.limit("push") == 2.0 and again.body.limit("detect") == 5.0


def test_stages_are_a_prefix_of_the_chain_and_push_comes_with_enforce() -> None:
    assert valid_stages(("detect",)) and valid_stages(("detect", "signal", "decide"))
    assert valid_stages(("detect", "signal", "decide", "push", "enforce"))
    assert not valid_stages(("detect", "signal", "decide", "push"))
    assert not valid_stages(("signal",)) and not valid_stages(("enforce", "detect"))
    found = refusal(sign_order(SEED, body(stages=("push", "enforce"))), TRUSTED, NOW)
    assert found is not None and found.reason == "stages"


def test_covers_and_the_shared_target_check() -> None:
    assert covers("2001:db8::/64", "2001:db8::7") and covers("192.0.2.7", "192.0.2.7")
    assert not covers("192.0.2.7", "192.0.2.8") and not covers("192.0.2.0/24", "2001:db8::1")
    assert not covers("junk", "192.0.2.7")
    assert target_refusal("203.0.113.9") is None
    assert "not an address" in (target_refusal("localhost") or "")
