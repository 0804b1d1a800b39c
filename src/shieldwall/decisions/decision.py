"""A decision of the alliance: block a target until a time, or lift a block.

Decisions and lifts form one log ordered by ``cursor`` (strictly increasing,
assigned by the hub's ledger). A member that has applied everything up to cursor
N resumes from N: no gap and no duplicate.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from shieldwall.signals.bounds import Cursor, Digest, Name, Origin, Seconds, TargetText

Action = Literal["block", "lift"]


class Decision(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of the decision log.

    ``target`` is an address or CIDR in canonical form. ``until`` is the Unix
    time at which a block expires (ignored for lifts). ``origin`` names the
    member(s) or operator whose word caused it; it is for display and audit.
    ``policy`` names the policy version it was made under (the council-signed
    charter's policy digest, or the hub's policy file digest without a council),
    ``rule`` the rule version that caused it (pack and scenario versions), and a
    non-empty ``drill`` marks a drill decision: an exercise on a documentation
    address, never a block of a real one.
    """

    cursor: Cursor
    action: Action
    target: TargetText
    until: Seconds
    scenario: Name = ""
    origin: Origin = ""
    created: Seconds = 0.0
    policy: Digest = ""
    rule: Name = ""
    drill: Name = ""


def encode_decision(decision: Decision) -> bytes:
    """JSON bytes of a decision (the stream's and the pages' wire format)."""
    return msgspec.json.encode(decision)


def decode_decision(data: bytes | str) -> Decision:
    """Parse a decision from JSON; raises ``msgspec.ValidationError`` on bad input."""
    return msgspec.json.decode(data, type=Decision)
