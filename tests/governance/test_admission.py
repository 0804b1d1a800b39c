"""The admitted member's check of the hub's welcome: only the council's admission, signed by
the charter's hub key, answering this request, passes; anything else is refused and why."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import Admit, Expel
from shieldwall.governance.admission import (
    Welcome,
    decode_welcome,
    sign_welcome,
    verify_welcome,
)
from shieldwall.governance.charter import charter_digest
from shieldwall.governance.record import record_digest
from shieldwall.governance.signatures import Signature
from shieldwall.signals.keys import new_seed, public_key_of
from tests.governance.conftest import START, Council, Keys, founded

HUB_SEED = b"\x01" * 32  # the conftest charter's hub key
NONCE = "ab" * 32
FP = "cd" * 32


def admitted(keys: Keys) -> tuple[Council, str, str]:
    """A council that admitted ``dave-org`` with a fresh key; (council, pinned hex, key hex)."""
    council = founded(keys)
    member = public_key_of(new_seed()).hex()
    council.publish(council.sign(council.propose(Admit("dave-org", member), "alice", START), ["bob"]), START)
    pinned = charter_digest(council.records[0].act.effect.charter).hex()  # type: ignore[union-attr]
    return council, pinned, member


def welcome_for(council: Council, pinned: str, member: str, **changes: object) -> Welcome:
    values: dict[str, object] = dict(
        alliance="north-sea", member="dave-org", public_key=member, nonce=NONCE,
        addresses=("127.0.0.1:8443",), fingerprints=(FP,), charter=pinned, arsenal="",
        acts_seq=len(council.records), acts_head=record_digest(council.records[-1]).hex())
    values.update(changes)
    return Welcome(**values)  # type: ignore[arg-type]


def test_a_welcome_for_the_admitted_key_signed_by_the_charters_hub_key_is_accepted(keys: Keys) -> None:
    council, pinned, member = admitted(keys)
    signed = sign_welcome(HUB_SEED, welcome_for(council, pinned, member), tuple(council.records))
    again = decode_welcome(msgspec.json.encode(signed))  # as it travels
    state = verify_welcome(again, pinned, member, NONCE, START)
    assert state.state.members["dave-org"] == member


@pytest.mark.parametrize("hostile", [
    "another-council", "signed-by-another-key", "forged-signature", "replayed-nonce",
    "another-members-welcome", "never-admitted", "expelled-since", "log-other-than-named",
])
def test_a_hostile_welcome_is_refused_with_the_reason(keys: Keys, hostile: str) -> None:
    council, pinned, member = admitted(keys)
    seed, given_key, given_pinned, nonce = HUB_SEED, member, pinned, NONCE
    welcome = welcome_for(council, pinned, member)
    if hostile == "another-council":
        given_pinned, reason = "ee" * 32, "wrong-charter"
    elif hostile == "signed-by-another-key":
        seed, reason = new_seed(), "unknown-hub-key"
    elif hostile == "replayed-nonce":
        nonce, reason = "00" * 32, "replayed"
    elif hostile == "another-members-welcome":
        given_key, reason = public_key_of(new_seed()).hex(), "not-admitted"
    elif hostile == "never-admitted":
        stranger = public_key_of(new_seed()).hex()
        welcome, given_key, reason = welcome_for(council, pinned, stranger), stranger, "not-admitted"
    elif hostile == "expelled-since":
        council.publish(council.sign(council.propose(Expel("dave-org"), "alice", START + 1), ["bob"]),
                        START + 1)
        welcome, reason = welcome_for(council, pinned, member), "not-admitted"
    elif hostile == "log-other-than-named":
        welcome, reason = welcome_for(council, pinned, member, acts_seq=1), "forked"
    else:
        reason = "forged"
    signed = sign_welcome(seed, welcome, tuple(council.records))
    if hostile == "forged-signature":
        signed = msgspec.structs.replace(
            signed, signature=Signature(signed.signature.key_id, "00" * 64))
    with pytest.raises(GovernanceError) as refused:
        verify_welcome(signed, given_pinned, given_key, nonce, START + 1)
    assert refused.value.reason == reason


def test_a_welcome_with_unknown_fields_or_too_many_bytes_is_malformed(keys: Keys) -> None:
    council, pinned, member = admitted(keys)
    raw = msgspec.json.encode(sign_welcome(HUB_SEED, welcome_for(council, pinned, member), ()))
    with pytest.raises(GovernanceError, match="not valid"):
        decode_welcome(raw[:-1] + b',"extra":1}')
    with pytest.raises(GovernanceError, match="limit"):
        decode_welcome(b" " * (16 * 1024 * 1024 + 1))
