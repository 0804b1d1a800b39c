"""The heartbeat's wire format: what the hub accepts, and every hostile shape it refuses."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.errors import SignalError
from shieldwall.readiness.heartbeat import (
    HeartbeatAnswer,
    checks_of,
    decode_answer,
    decode_heartbeat,
    encode,
    heartbeat_of,
)
from shieldwall.readiness.verdict import Check, Verdict

VERDICT = Verdict(at=100.0, checks=(Check("R1", "hub link", "ok", "answers"),
                                    Check("R3", "enforcer verified", "failing", "x" * 5000)))


def raw(**fields: object) -> bytes:
    body: dict[str, object] = {"member": "alpha", "at": 100.0, "interval": 30.0,
                               "checks": [{"code": "R1", "name": "hub link", "state": "ok",
                                           "reason": "fine"}]}
    body.update(fields)
    return msgspec.json.encode(body)


def reason_of(data: bytes, signer: str = "alpha", last: float | None = None) -> str:
    with pytest.raises(SignalError) as caught:
        decode_heartbeat(data, signer, last)
    return caught.value.reason


def test_a_verdict_round_trips_with_long_reasons_cut_to_the_wire_bound() -> None:
    beat = heartbeat_of("alpha", VERDICT, 100.0, 30.0, {"sshd": "ab" * 32})
    back = decode_heartbeat(encode(beat), "alpha", 99.0)
    assert back.packs == {"sshd": "ab" * 32}
    assert [c.state for c in checks_of(back)] == ["ok", "failing"]
    assert len(back.checks[1].reason) == 1024


def test_a_heartbeat_naming_another_member_is_forged() -> None:
    assert reason_of(raw(), signer="beta") == "forged"


def test_a_heartbeat_not_later_than_the_last_accepted_is_a_replay() -> None:
    assert reason_of(raw(at=100.0), last=100.0) == "replayed"
    assert reason_of(raw(at=50.0), last=100.0) == "replayed"
    assert decode_heartbeat(raw(at=100.5), "alpha", 100.0).at == 100.5


@pytest.mark.parametrize("fields", [
    {"extra": 1},
    {"checks": [{"code": "R1", "name": "n", "state": "ok", "reason": "r", "more": 1}]},
    {"checks": [{"code": "X1", "name": "n", "state": "ok", "reason": "r"}]},
    {"checks": [{"code": "R1", "name": "n", "state": "fine", "reason": "r"}]},
    {"checks": [{"code": "R1", "name": "n", "state": "ok", "reason": "r"}] * 2},
    {"checks": [{"code": "R1", "name": "n", "state": "ok", "reason": "r"}] * 17},
    {"interval": 0.0},
    {"interval": 86400.0},
    {"at": 1e300},
    {"member": "m" * 129},
    {"packs": {f"p{i}": "d" for i in range(65)}},
])
def test_unknown_fields_and_values_out_of_bounds_are_malformed(fields: dict[str, object]) -> None:
    assert reason_of(raw(**fields)) == "malformed"


def test_bytes_that_are_not_json_are_malformed() -> None:
    assert reason_of(b"\xff{not json") == "malformed"


def test_the_answer_round_trips_and_an_unreadable_one_is_malformed() -> None:
    answer = HeartbeatAnswer(member="alpha", at=1.5, head=7, state="ok", packs={"sshd": "d"})
    assert decode_answer(encode(answer)) == answer
    with pytest.raises(SignalError):
        decode_answer(b'{"member": "alpha"}')
