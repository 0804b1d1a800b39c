"""The demo's timeline: from one member's detection to the block on every member.

Input is what the agents print with ``--log-format json`` (one object per
line: ``{"t": <unix time>, "event": "detection" | "decision" | "block.applied"
| "signal.acked" | ..., ...}``) plus the hub's decision record; output is a
list of :class:`Entry` with millisecond offsets from the detection. Pure: the
callers read the files and the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

Note = dict[str, Any]


def parse_notes(text: str | bytes) -> list[Note]:
    """The JSON notes in an agent's output; other lines (tracebacks, text) are skipped."""
    raw = text.encode() if isinstance(text, str) else text
    notes: list[Note] = []
    for line in raw.splitlines():
        if not line.startswith(b"{"):
            continue
        try:
            value = msgspec.json.decode(line)
        except msgspec.DecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("t"), int | float) and "event" in value:
            notes.append(value)
    return notes


@dataclass(frozen=True)
class Entry:
    """One moment of the timeline."""

    t: float
    who: str
    what: str
    detail: str = ""


def _about(note: Note, target: str) -> bool:
    value = note.get("ip") or note.get("target") or ""
    return isinstance(value, str) and (value == target or value.startswith(target + "/"))


def build_timeline(
    notes: Mapping[str, Sequence[Note]],
    target: str,
    decision: tuple[float, int, str] | None = None,
) -> list[Entry]:
    """Entries about ``target`` in time order.

    ``notes`` maps member name to its agent's notes; ``decision`` is the hub's
    ``(created, cursor, origin)`` for the block, when known. Only the first of
    each kind per member is kept: the timeline shows how fast, not how often.
    """
    entries: list[Entry] = []
    if decision is not None:
        created, cursor, origin = decision
        entries.append(Entry(created, "hub", "decision", f"#{cursor} block {target} "
                                                          f"(signal from {origin})"))
    for member, items in notes.items():
        seen: set[str] = set()
        for note in items:
            event = str(note.get("event"))
            if event in seen:
                continue
            if event == "detection" and _about(note, target):
                entries.append(Entry(note["t"], member, "detection",
                                     f"{note.get('scenario', '')} x{note.get('count', '?')}"))
            elif event == "block.applied" and _about(note, target):
                origin = note.get("origin", "")
                how = "local, before the hub answered" if origin == "local" else f"hub, by {origin}"
                entries.append(Entry(note["t"], member, "block applied", how))
                if origin == "local":
                    continue  # the hub's copy of the same block may follow; keep both
            elif event == "decision" and _about(note, target):
                entries.append(Entry(note["t"], member, "decision received",
                                     f"#{note.get('cursor', '?')}"))
            elif event == "signal.acked" and "detection" in seen:
                entries.append(Entry(note["t"], member, "signal acked by hub", ""))
            elif event == "block.skipped" and _about(note, target):
                entries.append(Entry(note["t"], member, "block skipped",
                                     str(note.get("reason", ""))))
            else:
                continue
            seen.add(event)
    entries.sort(key=lambda e: e.t)
    return entries


def applied_delays(entries: Iterable[Entry]) -> dict[str, float]:
    """Milliseconds from the first detection to each member's first applied block."""
    items = list(entries)
    start = next((e.t for e in items if e.what == "detection"), None)
    if start is None:
        return {}
    delays: dict[str, float] = {}
    for entry in items:
        if entry.what == "block applied" and entry.who not in delays:
            delays[entry.who] = (entry.t - start) * 1000.0
    return delays


def render_timeline(entries: Sequence[Entry]) -> list[str]:
    """Readable lines, offsets in milliseconds from the first detection."""
    start = next((e.t for e in entries if e.what == "detection"), entries[0].t if entries else 0)
    return [
        f"{(e.t - start) * 1000.0:+9.1f} ms  {e.who:<8} {e.what:<20} {e.detail}".rstrip()
        for e in entries
    ]
