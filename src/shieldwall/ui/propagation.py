"""The ledger's records for the real-decision propagation figures (the I/O half of
:mod:`shieldwall.readiness.propagation`).

Everything is read from the ledger (the ``propagation.applied`` and ``readiness``
journals, the decisions' evidence), never from this process's memory: on PostgreSQL
a heartbeat lands on any replica, and every replica's page must show the same
figures. Applied records are read newest first back to the oldest decision still to
measure, at most :data:`MAX_RECORDS`; the hub journals at most two a second per member
(:data:`~shieldwall.readiness.applied.APPLIED_EVERY`), so a member flooding them can
at worst push the others' older records out of that bound, and the decisions they
complete stay waiting until given up on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.hub.ledger.storage import Ledger
from shieldwall.hub.policy_values import Contribution
from shieldwall.hub.roster import JOURNAL_KIND, Transition
from shieldwall.readiness.applied import APPLIED_KIND, AppliedRecord, decode_record
from shieldwall.readiness.propagation import (
    Candidate,
    Evidence,
    Figures,
    Member,
    Timeline,
    measure,
)

#: The newest real block decisions measured (one evidence read each, remembered).
MAX_MEASURED = 200
#: Seconds after which a decision still waiting for a member is given up on (a member
#: whose allowlist protects the target never reports it): counted, never re-read.
GIVE_UP_AFTER = 600.0
#: Applied records read at most per page (each holds up to 512 pairs), newest first,
#: back to the oldest decision still measured; readiness transitions read in one go.
MAX_RECORDS = 5000
MAX_TRANSITIONS = 5000
_FIRST_READ = 256
_evidence = msgspec.json.Decoder(list[Contribution])
_transition = msgspec.json.Decoder(Transition)


async def evidence_of(ledger: Ledger, decision: Decision) -> tuple[Evidence, ...]:
    """The detections behind ``decision`` (empty when unreadable or none)."""
    for stored in await ledger.decisions_for([decision.target]):
        if stored.decision.cursor == decision.cursor:
            try:
                found = _evidence.decode(stored.evidence)
            except (msgspec.DecodeError, msgspec.ValidationError):
                return ()
            return tuple(Evidence(c.member, c.last_seen, c.received) for c in found)
    return ()


@dataclass
class Remembered:
    """What one process remembers between pages: candidates read (their evidence never
    changes), decisions measured (every expected member reported: final) and those
    given up on (:data:`GIVE_UP_AFTER`)."""

    candidates: dict[int, Candidate] = field(default_factory=dict)
    measured: dict[int, float] = field(default_factory=dict)
    given_up: set[int] = field(default_factory=set)

    def trim(self, keep: set[int]) -> None:
        """Forget decisions no longer among the measured ones (``keep``)."""
        for table in (self.candidates, self.measured):
            for seq in [s for s in table if s not in keep]:
                del table[seq]
        self.given_up &= keep


async def real_figures(ledger: Ledger, recent: Sequence[Decision], memo: Remembered,
                       skews: Mapping[str, float], now: float) -> Figures:
    """Detection -> block on all of the newest real blocks among ``recent``.

    ``memo`` keeps what need not be read or measured again; ``skews`` are the
    roster's estimates for members with no record yet. ``waiting`` in the result
    counts the decisions still waiting and those given up on.
    """
    blocks = sorted((d for d in recent if d.action == "block" and not d.drill),
                    key=lambda d: d.cursor)[-MAX_MEASURED:]
    memo.trim({d.cursor for d in blocks})
    candidates = []
    for d in blocks:
        if d.cursor in memo.measured or d.cursor in memo.given_up:
            continue
        if d.cursor not in memo.candidates:
            memo.candidates[d.cursor] = Candidate(d.cursor, d.created, d.target,
                                                  await evidence_of(ledger, d))
        candidates.append(memo.candidates[d.cursor])
    fresh = await _measure(ledger, candidates, skews) if candidates else Figures()
    memo.measured.update(zip(fresh.seqs, fresh.latencies, strict=True))
    memo.given_up |= {c.seq for c in candidates if c.seq in fresh.unfinished
                      and c.created < now - GIVE_UP_AFTER}
    seqs = sorted(s for s in memo.measured)
    return Figures(tuple(memo.measured[s] for s in seqs),
                   len(fresh.unfinished) + len(memo.given_up - set(fresh.unfinished)),
                   fresh.undetected, tuple(seqs))


async def _measure(ledger: Ledger, candidates: list[Candidate],
                   skews: Mapping[str, float]) -> Figures:
    members = [Member(m.name, m.joined, m.revoked_at, m.owns) for m in await ledger.members()]
    records = await _records_since(ledger, min(c.created for c in candidates))
    found = await ledger.journal(JOURNAL_KIND, newest_first=True, limit=MAX_TRANSITIONS)
    heard = {stored.key for stored in found}
    for m in members:
        if m.name not in heard:  # steady for longer than the window: its last change
            found += await ledger.journal(JOURNAL_KIND, key=m.name, newest_first=True, limit=1)
    transitions: list[tuple[str, float, str]] = []
    for stored in found:
        try:
            t = _transition.decode(stored.body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        transitions.append((t.member, t.at, t.after))
    return measure(candidates, records, members, Timeline(transitions), skews)


async def _records_since(ledger: Ledger, since: float) -> list[AppliedRecord]:
    """Applied records journaled at or after ``since`` (a report always follows its
    decision), newest first, at most :data:`MAX_RECORDS`; each names its own key."""
    limit = _FIRST_READ
    while True:
        stored = await ledger.journal(APPLIED_KIND, newest_first=True, limit=limit)
        if len(stored) < limit or stored[-1].at < since or limit >= MAX_RECORDS:
            break
        limit = min(limit * 4, MAX_RECORDS)
    out = []
    for entry in stored:
        if entry.at < since:
            break
        record = decode_record(entry.body)
        if record is not None and record.member == entry.key:
            out.append(record)
    return out
