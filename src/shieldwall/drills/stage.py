"""A member's signed word about one stage of one drill.

Each report says when the stage started and ended by the member's clock, whether
it passed, and why not; the ``signal`` stage carries the drill signal itself (the
hub decides on it, outside the real intake, so it can never count toward a real
quorum). The member signs every report with its own key, so the stored drill
report holds timestamps the member cannot later disown and the hub cannot forge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from shieldwall.drills.order import DrillId
from shieldwall.governance.signatures import Name, Note, Signature, digest, sign_digest, verifies
from shieldwall.signals.bounds import Seconds
from shieldwall.signals.signal import Signal

DOMAIN = b"shieldwall drill stage v1\n"
Step = Literal["accept", "detect", "signal", "push", "enforce", "lift"]
#: Why a stage failed, as a code the conductor can act on (``protected`` stops a drill).
Failure = Literal["", "refused", "protected", "missing", "table", "error", "unsupported"]


class StageReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stage on one member."""

    drill: DrillId
    member: Name
    stage: Step
    ok: bool
    started: Seconds
    at: Seconds
    failure: Failure = ""
    detail: Note = ""
    signal: Signal | None = None
    #: The decision cursor this stage is about (push, enforce, lift).
    cursor: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0

    @property
    def latency(self) -> float:
        """Seconds the stage took by the member's clock."""
        return max(0.0, self.at - self.started)


class SignedStage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A stage report with the member's signature."""

    report: StageReport
    signature: Signature


class Posted(msgspec.Struct, frozen=True):
    """The hub's answer to a posted stage: received at hub time ``at``."""

    at: float


def sign_stage(seed: bytes, report: StageReport) -> SignedStage:
    """``report`` signed with the member's 32-byte seed."""
    return SignedStage(report, sign_digest(seed, digest(DOMAIN, report)))


def stage_verifies(signed: SignedStage, keys: Mapping[str, bytes]) -> bool:
    """Whether ``signed`` carries a valid signature by a key in ``keys`` (key id -> public key)."""
    public = keys.get(signed.signature.key_id)
    if public is None:
        return False
    return verifies(public.hex(), digest(DOMAIN, signed.report), signed.signature.sig)


def decode_stage(data: bytes) -> SignedStage:
    """Parse a signed stage; raises ``msgspec.ValidationError``/``DecodeError`` on bad input."""
    return msgspec.json.decode(data, type=SignedStage)
