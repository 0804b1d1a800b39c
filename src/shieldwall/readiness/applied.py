"""When a member enforced each decision: the agent's bounded log and the hub's intake of it.

The agent records ``(decision seq, applied at)`` on its own clock right after the
enforcer applied a block (:class:`AppliedLog`); the next heartbeat carries what was
recorded since the last accepted one, at most :data:`APPLIED_CAP` pairs (the newest
kept: a member catching up on a long backlog reports its latest blocks). The hub
turns a heartbeat's pairs into an :class:`AppliedRecord` on its own clock
(:func:`accept`), journaled so that every replica's dashboard measures the same
propagation (:mod:`shieldwall.readiness.propagation`).

Pure: the log takes ``at`` from the caller; :func:`accept` takes ``now`` and values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import msgspec

#: Pairs one heartbeat carries at most (newest kept); ~30 bytes of JSON each.
APPLIED_CAP = 512
#: The journal kind of accepted reports (key: the member).
APPLIED_KIND = "propagation.applied"
#: Reports older than this (on the member's clock, before its heartbeat) are dropped:
#: a block applied a day before the beat is no propagation figure.
MAX_AGE = 86400.0
#: Seconds a member's applied time may lie after its heartbeat's own time (clock steps
#: within one beat): later ones are impossible and dropped as hostile.
FUTURE_SLACK = 1.0

#: Seqs a report may name past the hub's head: on PostgreSQL a member may follow another
#: replica's stream, a moment ahead of the one it beats to.
HEAD_SLACK = 10_000
#: Seconds between two records the hub journals for one member (a flood's bound).
APPLIED_EVERY = 0.5

Pair = tuple[int, float]


class AppliedLog:
    """The agent's record of blocks it applied, until a heartbeat carried them."""

    def __init__(self, cap: int = APPLIED_CAP) -> None:
        self._pairs: deque[Pair] = deque(maxlen=cap)

    def record(self, seq: int, at: float) -> None:
        """Decision ``seq`` was applied at ``at`` (member clock); the oldest falls off."""
        self._pairs.append((seq, at))

    def pending(self) -> tuple[Pair, ...]:
        """What the next heartbeat carries (oldest first)."""
        return tuple(self._pairs)

    def sent(self, pairs: Iterable[Pair]) -> None:
        """The hub took ``pairs``: forget them (ones recorded meanwhile stay)."""
        taken = set(pairs)
        self._pairs = deque((p for p in self._pairs if p not in taken), maxlen=self._pairs.maxlen)

    def __len__(self) -> int:
        return len(self._pairs)


class AppliedRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One heartbeat's accepted pairs, on the hub's clock: the journal body."""

    member: str
    #: The member's clock minus the hub's when the heartbeat arrived (corrects its
    #: evidence times too).
    skew: float
    #: When the heartbeat arrived (hub clock).
    at: float
    #: ``(decision seq, applied at on the hub's clock)``, one per seq.
    applied: tuple[tuple[int, float], ...]


def accept(member: str, sent: float, pairs: Iterable[Pair], now: float,
           head: int) -> AppliedRecord | None:
    """The record of ``member``'s heartbeat sent at ``sent`` (its clock) arriving at
    ``now``; ``None`` when nothing in it is worth keeping.

    The member's clock is corrected by the skew this heartbeat shows (``sent - now``).
    Dropped: seqs more than :data:`HEAD_SLACK` above the hub's ``head`` (no such
    decision yet), a repeated seq (the
    first counts), times after the heartbeat was sent (impossible) or older than
    :data:`MAX_AGE` before it. Whether a seq names a real block is judged when
    measuring: the decision log is read there.
    """
    skew = sent - now
    seen: set[int] = set()
    kept: list[tuple[int, float]] = []
    for seq, at in pairs:
        if seq > head + HEAD_SLACK or seq in seen or not sent - MAX_AGE <= at <= sent + FUTURE_SLACK:
            continue
        seen.add(seq)
        kept.append((seq, min(at, sent) - skew))
    if not kept:
        return None
    return AppliedRecord(member, skew, now, tuple(kept))


def encode_record(record: AppliedRecord) -> bytes:
    """JSON bytes of a record (the journal body)."""
    return msgspec.json.encode(record)


_record = msgspec.json.Decoder(AppliedRecord)


def decode_record(body: bytes) -> AppliedRecord | None:
    """A journaled record, or ``None`` when it is unreadable (skipped, never fatal)."""
    try:
        return _record.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
