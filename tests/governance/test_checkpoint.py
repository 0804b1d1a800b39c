"""The decision chain and the hub's signed checkpoints: wire bounds and hostile bytes."""

from __future__ import annotations

import pytest

from shieldwall.decisions.decision import Decision
from shieldwall.errors import GovernanceError
from shieldwall.governance.checkpoint import (
    GENESIS,
    Checkpoint,
    chain_over,
    chain_step,
    check_checkpoint,
    decode_checkpoint,
    encode_checkpoint,
    hub_key_ids,
    sign_checkpoint,
)
from shieldwall.signals.keys import public_key_of

SEED = b"\x02" * 32


def test_the_chain_is_the_same_step_by_step_and_at_once_and_depends_on_order() -> None:
    a = Decision(cursor=1, action="block", target="192.0.2.1", until=10.0)
    b = Decision(cursor=2, action="lift", target="192.0.2.1", until=10.0)
    assert chain_step(chain_step(GENESIS, a), b) == chain_over(GENESIS, [a, b])
    assert chain_over(GENESIS, [b, a]) != chain_over(GENESIS, [a, b])


def test_a_checkpoint_round_trips_and_verifies_under_its_key_only() -> None:
    point = Checkpoint(alliance="north-sea", cursor=7, chain="ab" * 32, acts_seq=2, acts_head="cd" * 32,
                       issued=1)
    signed = decode_checkpoint(encode_checkpoint(sign_checkpoint(SEED, point)))
    keys = hub_key_ids([public_key_of(SEED).hex()])
    check_checkpoint(signed, keys, "north-sea")
    with pytest.raises(GovernanceError, match="does not name"):
        check_checkpoint(signed, hub_key_ids([public_key_of(b"\x03" * 32).hex()]), "north-sea")


@pytest.mark.parametrize("raw", [
    b"", b"{}", b"[]", b"x" * 5000,
    b'{"checkpoint":{"alliance":"a","cursor":-1,"chain":"","acts_seq":0,"acts_head":"","issued":0},'
    b'"signature":{"key_id":"00","sig":"00"}}',
])
def test_hostile_checkpoint_bytes_are_refused_as_malformed(raw: bytes) -> None:
    with pytest.raises(GovernanceError) as caught:
        decode_checkpoint(raw)
    assert caught.value.reason == "malformed"
