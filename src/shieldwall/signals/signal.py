"""What a member tells the hub: one signal per detection, ban or retraction."""

from __future__ import annotations

from typing import Literal

import msgspec

SignalKind = Literal["detection", "ban", "retract"]


class Signal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One member's claim about one address or range.

    ``target`` is an address or a CIDR (IPv6 sources are usually a /64 prefix).
    Times are Unix seconds taken from the log, not from the clock, so that a
    replayed log produces the same signals.
    """

    kind: SignalKind
    target: str
    scenario: str
    count: int = 1
    first_seen: float = 0.0
    last_seen: float = 0.0
    #: Requested block duration in seconds (operator bans); 0 lets the policy decide.
    duration: float = 0.0
    reason: str = ""
    #: A bounded sample of the log lines that caused the detection.
    evidence: tuple[str, ...] = ()
