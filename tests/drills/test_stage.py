"""Stage reports are signed by the member; a forged or altered one does not verify."""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.drills.stage import SignedStage, StageReport, decode_stage, sign_stage, stage_verifies
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of

SEED = new_seed()
KEYS = {key_id_of(public_key_of(SEED)): public_key_of(SEED)}
REPORT = StageReport(drill="drill-0123abcd", member="a", stage="enforce", ok=True,
                     started=1.0, at=1.5, cursor=7)


def test_a_signed_stage_verifies_and_round_trips() -> None:
    signed = sign_stage(SEED, REPORT)
    assert stage_verifies(signed, KEYS)
    assert decode_stage(msgspec.json.encode(signed)) == signed
    assert REPORT.latency == 0.5


def test_an_altered_or_foreign_stage_does_not_verify() -> None:
    signed = sign_stage(SEED, REPORT)
    moved = SignedStage(msgspec.structs.replace(REPORT, at=1.1), signed.signature)
    assert not stage_verifies(moved, KEYS)
    assert not stage_verifies(sign_stage(new_seed(), REPORT), KEYS)


@pytest.mark.parametrize("raw", [
    b"{}", b'{"report": {"drill": "drill-0123abcd"}, "signature": {}}',
    b'{"report": {"drill": "x", "member": "a", "stage": "enforce", "ok": true, "started": 1,'
    b' "at": 1}, "signature": {"key_id": "' + b"0" * 32 + b'", "sig": "' + b"0" * 128 + b'"}}',
    b'{"report": {"drill": "drill-0123abcd", "member": "a", "stage": "rm -rf", "ok": true,'
    b' "started": 1, "at": 1}, "signature": {"key_id": "' + b"0" * 32 + b'", "sig": "'
    + b"0" * 128 + b'"}}',
    b'{"report": {"drill": "drill-0123abcd", "member": "a", "stage": "enforce", "ok": true,'
    b' "started": 1, "at": 1e300}, "signature": {"key_id": "' + b"0" * 32 + b'", "sig": "'
    + b"0" * 128 + b'"}}',
])
def test_hostile_stage_reports_do_not_decode(raw: bytes) -> None:
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)):
        decode_stage(raw)
