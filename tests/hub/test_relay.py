"""What a follower stores for the leader and the answer it gets back, as values."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.errors import HubError, SignalError
from shieldwall.hub.relay import (
    Answer,
    decode_answer,
    decode_envelope,
    encode_answer,
    encode_envelope,
)
from shieldwall.signals.envelope import Ack, OpenedEnvelope
from shieldwall.signals.signal import Signal


def opened() -> OpenedEnvelope:
    signal = Signal(kind="detection", target="45.13.7.0/24", scenario="ssh-bruteforce", count=6,
                    evidence=("Failed password for root from 45.13.7.9",))
    return OpenedEnvelope("alice", "k1", 7, 1.7e9, (signal,), "ab" * 32)


def test_a_relayed_envelope_comes_back_equal_with_its_targets_parsed_again() -> None:
    original = opened()
    back = decode_envelope(encode_envelope(original))
    assert back.signals == original.signals and back.digest == original.digest
    assert (back.member, back.key_id, back.seq, back.ts) == ("alice", "k1", 7, 1.7e9)
    assert [(t.text, t.prefixlen) for t in back.targets] == [("45.13.7.0/24", 24)]


def test_the_leaders_ack_error_or_retry_reach_the_follower_unchanged() -> None:
    ack = Ack("applied", 7, 1, (12,))
    assert decode_answer(encode_answer(ack)) == ack
    with pytest.raises(SignalError) as refused:
        decode_answer(encode_answer(SignalError("replayed", "seq 7 is not above 9")))
    assert refused.value.reason == "replayed" and "not above 9" in str(refused.value)
    with pytest.raises(HubError, match="retry"):
        decode_answer(encode_answer(HubError("could not make the batch durable, retry")))


def test_a_stored_row_that_is_not_an_envelope_is_refused() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_envelope(b"\x93garbage")
    with pytest.raises(msgspec.ValidationError):
        decode_envelope(msgspec.msgpack.encode({"member": "alice", "extra": 1}))
    with pytest.raises(msgspec.DecodeError):
        decode_answer(msgspec.msgpack.encode(Answer())[:-1] + b"\xc1")
