"""What a member tells the hub: one signal per detection, ban or retraction."""

from __future__ import annotations

from typing import Literal

import msgspec

from shieldwall.signals.bounds import Count, Evidence, Name, Reason, Seconds, TargetText

SignalKind = Literal["detection", "ban", "retract"]


class Signal(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One member's claim about one address or range.

    ``target`` is an address or a CIDR (IPv6 sources are usually a /64 prefix).
    Times are Unix seconds taken from the log, not from the clock, so that a
    replayed log produces the same signals. Field types carry the hard wire
    bounds of :mod:`shieldwall.signals.bounds`.

    ``gc=False``: the hub decodes a thousand per envelope and holds them until the
    group commit, and the collector need not track or scan them; safe because every
    field is a string, a number or a tuple of strings, so a signal can never sit in
    a reference cycle.
    """

    kind: SignalKind
    target: TargetText
    scenario: Name
    count: Count = 1
    first_seen: Seconds = 0.0
    last_seen: Seconds = 0.0
    #: Requested block duration in seconds (operator bans); 0 lets the policy decide.
    duration: Seconds = 0.0
    reason: Reason = ""
    #: A bounded sample of the log lines that caused the detection.
    evidence: Evidence = ()
    #: The rule version that fired (``ssh-bruteforce@b40d64609cd1``, an alliance rule's
    #: ``name@version``); the decision it causes names it. Empty from older agents.
    rule: Name = ""
