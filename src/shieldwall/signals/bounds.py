"""Hard bounds on every field that crosses the wire, as msgspec ``Meta`` constraints.

These are storage-safety limits, checked while decoding, before anything
reaches the policy or the ledger: every integer fits SQLite's signed 64-bit
``INTEGER`` (a larger one raised ``OverflowError`` inside a group commit and
failed every envelope in it), and no string or list can be large enough to
cost the hub memory out of proportion to its purpose. A value out of bounds is
refused with msgspec's message, which names the field (``at `$.signals[0].count```).

The *semantic* limits (at most 20 evidence lines, count at least 1, ...) are
tighter, configurable, and checked after the signature
(:class:`~shieldwall.signals.envelope.EnvelopeLimits`); they answer
``invalid-signal``.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

#: SQLite's INTEGER is a signed 64-bit value.
INT64_MAX = 2**63 - 1
#: Unix times up to the year 5138, durations up to ~3,000 years: anything finite
#: beyond is a mistake or an attack, and both would overflow date arithmetic.
TIME_MAX = 1e11

Int64 = Annotated[int, Meta(ge=-INT64_MAX, le=INT64_MAX)]
Count = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Sequence = Annotated[int, Meta(ge=1, le=INT64_MAX)]
Cursor = Annotated[int, Meta(ge=0, le=INT64_MAX)]
Seconds = Annotated[float, Meta(ge=-TIME_MAX, le=TIME_MAX)]
#: An address or CIDR; the longest canonical IPv6 CIDR is 43 characters.
TargetText = Annotated[str, Meta(max_length=100)]
Name = Annotated[str, Meta(max_length=128)]
KeyId = Annotated[str, Meta(max_length=64)]
Digest = Annotated[str, Meta(max_length=128)]
Base64Text = Annotated[str, Meta(max_length=256)]
Reason = Annotated[str, Meta(max_length=4096)]
#: Who caused a decision: member names joined by commas (a whole alliance fits).
Origin = Annotated[str, Meta(max_length=65536)]
EvidenceLine = Annotated[str, Meta(max_length=8192)]
Evidence = Annotated[tuple[EvidenceLine, ...], Meta(max_length=100)]
#: Ranges a member may claim at join (the hub applies its tighter policy after).
MAX_OWNED_CLAIMS = 256
#: Signals in one envelope (the semantic limit, EnvelopeLimits.max_signals, is the same).
MAX_SIGNALS = 10_000
