"""The council's history: every act with its signers and effect, and every chair handover.

Pure: it replays the act log (so every line it prints was verified) and interleaves
the handovers the rotation and appointments imply, each annotated with the proposals
it carried over (opened before it, published after it or still open).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from shieldwall.governance.acts import CharterChange, act_digest, kind_of, signed_digest
from shieldwall.governance.chair import Handover, chair_at, handovers
from shieldwall.governance.charter import council_keys
from shieldwall.governance.proposals import Proposal, proposal_id
from shieldwall.governance.record import ActRecord
from shieldwall.governance.signatures import tally
from shieldwall.governance.state import CouncilState, apply


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of history."""

    at: int
    #: ``act`` or ``handover``.
    event: str
    summary: str
    signers: tuple[str, ...] = ()
    seq: int = 0


def describe(record: ActRecord) -> str:
    """The act's effect in a few words (its id, kind and fields)."""
    effect = record.act.effect
    if isinstance(effect, CharterChange):
        fields = f"charter v{effect.charter.version}"
    else:
        values = msgspec.structs.asdict(effect)
        fields = " ".join(f"{key}={value}" for key, value in values.items())
    note = f" ({record.act.note})" if record.act.note else ""
    return f"{proposal_id(record.act)} {kind_of(record.act)}: {fields}{note}"


def history(records: Sequence[ActRecord], until: int, pending: Sequence[Proposal] = (),
            pinned: bytes | None = None) -> list[Entry]:
    """Acts and handovers up to ``until``, oldest first; ``pending`` are still-open proposals."""
    entries: list[Entry] = []
    published = {act_digest(r.act): r.published_at for r in records}
    opened = [(p.act.opened_at, published.get(act_digest(p.act)), p.id) for p in pending]
    opened += [(r.act.opened_at, r.published_at, proposal_id(r.act)) for r in records]
    state = CouncilState()
    periods: list[tuple[CouncilState, int]] = []
    for record in records:
        before = state
        state = apply(state, record, pinned)
        councils = [before.trusted.charter] if before.trusted is not None else []
        if isinstance(record.act.effect, CharterChange):
            councils.append(record.act.effect.charter)
            periods.append((state, record.published_at))
        signers: set[str] = set()
        for charter in councils:
            signers |= tally(signed_digest(record.act), record.signatures, council_keys(charter)).signers
        entries.append(
            Entry(record.published_at, "act", describe(record), tuple(sorted(signers)), record.seq))
    previous_rotation = None
    for index, (period, since) in enumerate(periods):
        end = periods[index + 1][1] if index + 1 < len(periods) else until
        assert period.trusted is not None
        rotation = period.trusted.charter.rotation
        moves = handovers(rotation, since, min(end, until), state.appointments)
        first = chair_at(rotation, since, state.appointments)
        if previous_rotation is None and first is not None:
            moves.insert(0, Handover(since, "", first, "founding"))
        if previous_rotation is not None:
            # A new charter can change the rotation, and with it the chair, at once.
            old_chair = chair_at(previous_rotation, since, state.appointments)
            new_chair = chair_at(rotation, since, state.appointments)
            if new_chair is not None and old_chair != new_chair:
                moves.insert(0, Handover(since, old_chair or "", new_chair, "charter"))
        previous_rotation = rotation
        for handover in moves:
            carried = sorted({pid for at, done, pid in opened
                              if at < handover.at and (done is None or done > handover.at)})
            text = f"chair {handover.before or '-'} -> {handover.after} ({handover.cause})"
            if carried:
                text += f"; carries over {len(carried)} open proposal(s): {', '.join(carried)}"
            entries.append(Entry(handover.at, "handover", text))
    # An appointment act comes before the handover it causes.
    entries.sort(key=lambda e: (e.at, e.event == "handover", e.seq))
    return entries
