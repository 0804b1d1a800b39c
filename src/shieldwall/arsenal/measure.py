"""The hub's measurement of a rule version: ledger rows in, :class:`Figures` out.

The rows are the arsenal's own journal records (members' sightings and CPU usage,
disputes) and the ledger's signals and decisions on the rule's targets; the
arithmetic is :func:`~shieldwall.arsenal.figures.figures`. Anyone with the ledger
gets the same figures, hence the same report hash.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from shieldwall.arsenal.figures import Figures, OtherReport, Sighting, Usage, figures
from shieldwall.hub.ledger.storage import JournalEntry, Ledger

SIGHTING = "arsenal.sighting"
USAGE = "arsenal.usage"
DISPUTE = "arsenal.dispute"
_sighting = msgspec.json.Decoder(Sighting)
_usage = msgspec.json.Decoder(Usage)
PAGE = 10_000


async def _all(ledger: Ledger, kind: str, key: str | None = None) -> list[bytes]:
    out: list[bytes] = []
    after = 0
    while True:
        page = await ledger.journal(kind, key=key, after=after, limit=PAGE)
        out += [e.body for e in page]
        if len(page) < PAGE:
            return out
        after = page[-1].id


def sighting_entries(member: str, sightings: list[Sighting], usage: list[Usage],
                     now: float) -> list[JournalEntry]:
    """Journal entries for what ``member`` reported (the hub names the member, not the body)."""
    entries = [JournalEntry(SIGHTING, s.rule, now,
                            msgspec.json.encode(msgspec.structs.replace(s, member=member)))
               for s in sightings]
    entries += [JournalEntry(USAGE, u.rule, now,
                             msgspec.json.encode(msgspec.structs.replace(u, member=member)))
                for u in usage]
    return entries


async def rules_sighted(ledger: Ledger) -> list[str]:
    """Every rule version members reported a sighting of."""
    return sorted({_sighting.decode(b).rule for b in await _all(ledger, SIGHTING)})


async def measure(ledger: Ledger, rule: str, *, start: float, end: float,
                  protected: Callable[[str], str | None] = lambda _t: None) -> Figures:
    """The figures of ``rule`` over ``[start, end)`` from the ledger."""
    sightings = [_sighting.decode(b) for b in await _all(ledger, SIGHTING)]
    targets = sorted({s.target for s in sightings if s.rule == rule})
    others = [
        OtherReport(s.member, s.signal.scenario, s.signal.target, s.signal.last_seen or s.received)
        for s in (await ledger.signals_for(targets, 1_000_000) if targets else [])
    ]
    decisions = [d.decision for d in (await ledger.decisions_for(targets) if targets else [])]
    usage = [_usage.decode(b) for b in await _all(ledger, USAGE, rule)]
    disputes = len(await _all(ledger, DISPUTE, rule))
    return figures(rule, sightings, others, decisions, start=start, end=end, protected=protected,
                   disputes=disputes, usage=usage)
