"""The applied log and the hub's intake of it: bounded, corrected, hostile pairs dropped."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.errors import SignalError
from shieldwall.readiness.applied import (
    APPLIED_CAP,
    HEAD_SLACK,
    MAX_AGE,
    AppliedLog,
    AppliedRecord,
    accept,
    decode_record,
    encode_record,
)
from shieldwall.readiness.heartbeat import decode_heartbeat, encode, heartbeat_of
from shieldwall.readiness.verdict import Verdict


def test_the_log_keeps_the_newest_pairs_up_to_its_cap() -> None:
    log = AppliedLog()
    for seq in range(APPLIED_CAP + 10):
        log.record(seq, 1000.0 + seq)
    pending = log.pending()
    assert len(pending) == APPLIED_CAP and pending[0] == (10, 1010.0)
    assert pending[-1] == (APPLIED_CAP + 9, 1000.0 + APPLIED_CAP + 9)


def test_pairs_recorded_while_a_heartbeat_was_in_flight_stay_for_the_next() -> None:
    log = AppliedLog()
    log.record(1, 10.0)
    carried = log.pending()
    log.record(2, 11.0)
    log.sent(carried)
    assert log.pending() == ((2, 11.0),) and len(log) == 1


def test_the_hub_corrects_the_members_clock_by_the_heartbeats_skew() -> None:
    record = accept("alice", sent=1100.0, pairs=[(5, 1099.5)], now=1000.0, head=5)
    assert record == AppliedRecord("alice", 100.0, 1000.0, ((5, 999.5),))


def test_hostile_pairs_are_dropped_and_a_repeated_seq_counts_once() -> None:
    record = accept("alice", sent=1000.0, now=1000.0, head=10, pairs=[
        (11 + HEAD_SLACK, 999.0),    # a decision that does not exist yet
        (3, 1000.0 + 3600),          # applied after the heartbeat was sent
        (4, 1000.0 - MAX_AGE - 1),   # a day before: no propagation figure
        (5, -1e9),                   # negative, far in the past
        (6, 999.0), (6, 998.0),      # the first counts
    ])
    assert record is not None and record.applied == ((6, 999.0),)
    assert accept("alice", 1000.0, [(11 + HEAD_SLACK, 999.0)], 1000.0, head=10) is None
    # A replica a moment behind the stream the member follows still takes it.
    assert accept("alice", 1000.0, [(12, 999.0)], 1000.0, head=10) is not None


def test_a_time_just_after_the_beat_is_cut_to_the_beat() -> None:
    record = accept("alice", sent=1000.0, pairs=[(1, 1000.5)], now=1000.0, head=1)
    assert record is not None and record.applied == ((1, 1000.0),)


def test_a_record_round_trips_and_an_unreadable_one_is_none() -> None:
    record = AppliedRecord("alice", 0.5, 10.0, ((1, 9.0),))
    assert decode_record(encode_record(record)) == record
    assert decode_record(b'{"member":"alice","extra":1}') is None


def test_a_heartbeat_with_nothing_applied_leaves_the_field_off_the_wire() -> None:
    # A hub older than the field refuses unknown fields: an empty list must not be sent.
    plain = encode(heartbeat_of("alice", Verdict(1.0, ()), 1.0, 30.0))
    assert b"applied" not in plain
    carried = encode(heartbeat_of("alice", Verdict(1.0, ()), 1.0, 30.0,
                                  applied=tuple((i, 1.0) for i in range(APPLIED_CAP + 5))))
    beat = decode_heartbeat(carried, "alice", None)
    assert len(beat.applied) == APPLIED_CAP and beat.applied[0] == (5, 1.0)


def test_a_heartbeat_over_the_cap_or_with_a_negative_seq_is_refused() -> None:
    body = msgspec.json.decode(encode(heartbeat_of("alice", Verdict(1.0, ()), 1.0, 30.0)))
    body["applied"] = [[i, 1.0] for i in range(APPLIED_CAP + 1)]
    with pytest.raises(SignalError, match="applied"):
        decode_heartbeat(msgspec.json.encode(body), "alice", None)
    body["applied"] = [[-1, 1.0]]
    with pytest.raises(SignalError):
        decode_heartbeat(msgspec.json.encode(body), "alice", None)
