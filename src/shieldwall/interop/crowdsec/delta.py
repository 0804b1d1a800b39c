"""What changed for bouncers: the block store against what was published, and each answer.

Pure: the journal (:mod:`.journal`) feeds these functions rows and writes back
what they return. Each target has one journal row holding its latest state and
the sequence number of that change, so a delta since cursor ``c`` is "every row
with ``seq > c``": a target appears at most once per answer, in its final state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import msgspec

from shieldwall.addresses import is_range
from shieldwall.enforcers.block import Block
from shieldwall.interop.crowdsec.decision import CsDecision, Published, to_decision
from shieldwall.interop.crowdsec.filters import DecisionFilter

State = Literal["new", "deleted"]


@dataclass(frozen=True, slots=True)
class Changes:
    """How the store moved since the last sync: blocks to (re)publish, targets gone."""

    put: tuple[Block, ...] = ()
    gone: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.put or self.gone)


def reconcile(published: Mapping[str, Published], active: Mapping[str, Block]) -> Changes:
    """Compare live published entries with the store's active blocks.

    A block is republished when it is new or its expiry, origin or scenario
    changed (an extension must reach the bouncer); a published target the store
    no longer holds active (lifted, or expired) is gone.
    """
    put = tuple(
        block for target, block in active.items()
        if (old := published.get(target)) is None
        or (old.until, old.origin, old.scenario) != (block.until, block.origin, block.scenario)
    )
    gone = tuple(target for target in published if target not in active)
    return Changes(put, gone)


def with_replacements(
    rows: Iterable[tuple[State, Published]], cursor: int
) -> list[tuple[State, Published]]:
    """Delta rows, each changed entry a bouncer already holds preceded by its deletion.

    Re-adding a value to an nftables set with timeouts keeps the old timeout
    (measured with crowdsec-firewall-bouncer 0.0.25), so an extended block sent
    only as ``new`` would still expire at its first time there. Sent as
    ``deleted`` then ``new`` in one answer, it is replaced (the bouncer applies
    deletions first; the value is absent for about 20 ms).
    """
    out: list[tuple[State, Published]] = []
    for state, entry in rows:
        if state == "new" and 0 < entry.since <= cursor < entry.id:
            out.append(("deleted", replace(entry, id=entry.since)))
        out.append((state, entry))
    return out


class StreamAnswer(msgspec.Struct, frozen=True):
    """The body of a ``/v1/decisions/stream`` answer; ``null`` lists as CrowdSec sends them."""

    new: list[CsDecision] | None
    deleted: list[CsDecision] | None


@dataclass(slots=True)
class Answer:
    """An answer being built, plus how many ranges it withheld."""

    new: list[CsDecision] = field(default_factory=list)
    deleted: list[CsDecision] = field(default_factory=list)
    withheld: int = 0

    def body(self) -> StreamAnswer:
        return StreamAnswer(self.new or None, self.deleted or None)


def stream_answer(
    rows: Iterable[tuple[State, Published]], live: Iterable[Published],
    flt: DecisionFilter, now: float, *, count_withheld: bool = True,
) -> Answer:
    """Decisions for ``rows`` (startup: every live entry as ``new``) under ``flt``.

    ``live`` is every entry currently published; it is only read (with
    ``count_withheld``) to count the ranges this client is not sent
    (``withheld``, which the operator sees).
    """
    answer = Answer()
    for state, entry in rows:
        if flt.matches(entry):
            (answer.new if state == "new" else answer.deleted).append(to_decision(entry, now))
    if flt.ranges_withheld and count_withheld:
        answer.withheld = sum(
            1 for e in live if is_range(e.target) and flt.matches_besides_scope(e)
        )
    return answer


def query_answer(live: Iterable[Published], flt: DecisionFilter, now: float) -> list[CsDecision]:
    """Decisions for ``/v1/decisions``, newest id first (pycrowdsec takes the max id)."""
    found = [to_decision(e, now) for e in live if flt.matches(e)]
    return sorted(found, key=lambda d: -d.id)
