"""Envelope rules: every rejection reason, with hostile input for each."""

from __future__ import annotations

import base64

import msgspec
import pytest

from shieldwall.errors import SignalError
from shieldwall.signals.envelope import (
    REJECTION_REASONS,
    EnvelopeLimits,
    check_sequence,
    open_envelope,
    seal_envelope,
)
from shieldwall.signals.keys import MemberKey, key_id_of, new_seed, public_key_of
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
SEED = new_seed()
KEY_ID = key_id_of(public_key_of(SEED))
ALICE = MemberKey("alice", KEY_ID, public_key_of(SEED))
SIGNALS = [Signal(kind="detection", target="45.13.7.9", scenario="ssh-bruteforce", count=6)]


def lookup(key_id: str) -> MemberKey | None:
    return ALICE if key_id == KEY_ID else None


def reason_of(raw: bytes, now: float = NOW, keys=lookup) -> str:
    with pytest.raises(SignalError) as caught:
        open_envelope(raw, keys, now)
    assert caught.value.reason in REJECTION_REASONS
    return caught.value.reason


def tamper(raw: bytes, **changes: object) -> bytes:
    data = msgspec.json.decode(raw)
    data.update(changes)
    return msgspec.json.encode(data)


def test_sealed_envelope_opens_with_its_members_key() -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS)
    opened = open_envelope(raw, lookup, NOW)
    assert opened.member == "alice"
    assert opened.signals == tuple(SIGNALS)
    assert opened.seq == 1


def test_whitespace_and_key_order_do_not_change_the_digest() -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS)
    data = msgspec.json.decode(raw)
    reordered = msgspec.json.encode(dict(reversed(list(data.items()))))
    reformatted = msgspec.json.format(reordered, indent=3)
    assert open_envelope(reformatted, lookup, NOW).digest == open_envelope(raw, lookup, NOW).digest


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'{"key_id": 1}',
        b'{"key_id":"k","seq":"1","ts":0,"signals":[],"digest":"","sig":""}',
        b"\xff\xfe\x00",
    ],
)
def test_malformed_envelope_is_rejected(raw: bytes) -> None:
    assert reason_of(raw) == "malformed"


def test_unknown_field_makes_the_envelope_malformed() -> None:
    raw = tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), extra=1)
    assert reason_of(raw) == "malformed"


def test_non_base64_signature_is_malformed() -> None:
    raw = tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), sig="!!!")
    assert reason_of(raw) == "malformed"


def test_zero_sequence_is_malformed() -> None:
    assert reason_of(tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), seq=0)) == "malformed"


def test_a_member_cannot_seal_what_the_hub_would_refuse() -> None:
    with pytest.raises(SignalError, match="seq") as caught:
        seal_envelope(SEED, KEY_ID, 0, NOW, SIGNALS)
    assert caught.value.reason == "malformed"


def signal_field(raw: bytes, **changes: object) -> bytes:
    data = msgspec.json.decode(raw)
    data["signals"][0].update(changes)
    return msgspec.json.encode(data)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), seq=2**63), "$.seq"),
        (tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), seq=10**40), "$.seq"),
        (signal_field(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), count=2**64), "count"),
        (signal_field(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), count=-(2**63)), "count"),
        (signal_field(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), duration=1e300), "duration"),
        (signal_field(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), target="1" * 200), "target"),
        (signal_field(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), scenario="a" * 500),
         "scenario"),
        (signal_field(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), evidence=["x"] * 101),
         "evidence"),
        (tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), key_id="k" * 65), "key_id"),
        (tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), ts=1e300), "$.ts"),
    ],
    ids=["seq-2^63", "seq-huge", "count-2^64", "count-negative-huge", "duration-huge",
         "target-long", "scenario-long", "evidence-many", "key-id-long", "ts-huge"],
)
def test_oversize_values_are_malformed_with_the_field_named_before_any_check(
    raw: bytes, field: str
) -> None:
    # Looked up by a function that must never be called: bounds come first.
    def no_lookup(key_id: str) -> MemberKey | None:
        raise AssertionError("the key was looked up for an out-of-bounds envelope")

    with pytest.raises(SignalError) as caught:
        open_envelope(raw, no_lookup, NOW)
    assert caught.value.reason == "malformed"
    assert field in str(caught.value)


def test_envelope_from_unknown_key_is_rejected() -> None:
    stranger = new_seed()
    raw = seal_envelope(stranger, key_id_of(public_key_of(stranger)), 1, NOW, SIGNALS)
    assert reason_of(raw) == "unknown-key"


def test_envelope_signed_by_revoked_key_is_rejected() -> None:
    revoked = MemberKey("alice", KEY_ID, public_key_of(SEED), revoked=True)
    raw = seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS)
    assert reason_of(raw, keys=lambda _k: revoked) == "revoked-key"


def test_altered_signal_is_rejected() -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS)
    data = msgspec.json.decode(raw)
    data["signals"][0]["target"] = "1.1.1.1"
    assert reason_of(msgspec.json.encode(data)) == "altered"


def test_altered_sequence_number_is_rejected() -> None:
    raw = tamper(seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS), seq=99)
    assert reason_of(raw) == "altered"


def test_envelope_signed_with_another_key_under_a_members_id_is_forged() -> None:
    attacker = new_seed()
    raw = seal_envelope(attacker, KEY_ID, 1, NOW, SIGNALS)
    assert reason_of(raw) == "forged"


def test_flipped_signature_bit_is_forged() -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS)
    sig = bytearray(base64.b64decode(msgspec.json.decode(raw)["sig"]))
    sig[10] ^= 1
    assert reason_of(tamper(raw, sig=base64.b64encode(sig).decode())) == "forged"


def test_stale_envelope_is_rejected() -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW - 301, SIGNALS)
    assert reason_of(raw) == "stale"


def test_future_dated_envelope_is_rejected() -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW + 61, SIGNALS)
    assert reason_of(raw) == "future-dated"


def test_envelope_within_clock_skew_is_accepted() -> None:
    assert open_envelope(seal_envelope(SEED, KEY_ID, 1, NOW + 59, SIGNALS), lookup, NOW)
    assert open_envelope(seal_envelope(SEED, KEY_ID, 1, NOW - 299, SIGNALS), lookup, NOW)


@pytest.mark.parametrize(
    "signal",
    [
        Signal(kind="detection", target="example.com", scenario="ssh-bruteforce"),
        Signal(kind="detection", target="10.0.0.1/8", scenario="ssh-bruteforce"),
        Signal(kind="detection", target="45.13.7.9", scenario="Bad Name!"),
        Signal(kind="detection", target="45.13.7.9", scenario="ssh-bruteforce", count=0),
        Signal(kind="detection", target="45.13.7.9", scenario="x", first_seen=-5.0),
        Signal(kind="detection", target="45.13.7.9", scenario="x", duration=-1.0),
        Signal(kind="detection", target="45.13.7.9", scenario="x", evidence=("a" * 5000,)),
        Signal(kind="detection", target="45.13.7.9", scenario="x", evidence=("a",) * 21),
        Signal(kind="detection", target="45.13.7.9", scenario="x", reason="r" * 600),
    ],
)
def test_signal_with_invalid_content_rejects_the_whole_batch(signal: Signal) -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW, [SIGNALS[0], signal])
    assert reason_of(raw) == "invalid-signal"


def test_too_many_signals_in_one_envelope_is_rejected() -> None:
    raw = seal_envelope(SEED, KEY_ID, 1, NOW, SIGNALS * 3)
    with pytest.raises(SignalError) as caught:
        open_envelope(raw, lookup, NOW, EnvelopeLimits(max_signals=2))
    assert caught.value.reason == "invalid-signal"


def test_replayed_envelope_is_rejected() -> None:
    old = open_envelope(seal_envelope(SEED, KEY_ID, 5, NOW, SIGNALS), lookup, NOW)
    with pytest.raises(SignalError) as caught:
        check_sequence(old.seq, old.digest, last_seq=7, applied_digest="0" * 64)
    assert caught.value.reason == "replayed"


def test_sequence_number_never_applied_below_last_is_replayed() -> None:
    with pytest.raises(SignalError, match="not above"):
        check_sequence(3, "ab" * 32, last_seq=7, applied_digest=None)


def test_same_sequence_with_different_content_is_replayed_not_duplicate() -> None:
    first = open_envelope(seal_envelope(SEED, KEY_ID, 5, NOW, SIGNALS), lookup, NOW)
    other = open_envelope(seal_envelope(SEED, KEY_ID, 5, NOW + 1, SIGNALS), lookup, NOW)
    with pytest.raises(SignalError):
        check_sequence(other.seq, other.digest, last_seq=5, applied_digest=first.digest)


def test_byte_identical_retry_is_a_duplicate() -> None:
    raw = seal_envelope(SEED, KEY_ID, 5, NOW, SIGNALS)
    opened = open_envelope(raw, lookup, NOW)
    assert check_sequence(5, opened.digest, last_seq=5, applied_digest=opened.digest) == "duplicate"


def test_next_sequence_number_is_applied() -> None:
    assert check_sequence(8, "ab" * 32, last_seq=7, applied_digest=None) == "apply"


def test_integer_given_for_a_float_field_still_verifies() -> None:
    signal = Signal(kind="ban", target="45.13.7.0/24", scenario="manual", duration=60)  # type: ignore[arg-type]
    raw = seal_envelope(SEED, KEY_ID, 1, int(NOW), [signal])
    assert open_envelope(raw, lookup, NOW).signals[0].duration == 60.0
