"""A reorder buffer: events back in log-time order, within a bound, before detection.

Several web workers writing one file, or files merged by a collector, put lines
out of time order by seconds to minutes. The detector's windows assume time
order: a line from before the window's newest event by more than the window is
taken for a file replayed newest first and clears the window, so a log with a
minute of disorder and a one-minute scenario detects nothing.

:class:`Reorder` holds each event until the log has gone ``bound`` seconds past
it, then releases the held events sorted by time: disorder of up to ``bound``
seconds reaches the detector in order. What is later than that (a rotated file
replayed after a newer one, a clock reset) is passed on as it is, so the
detector's own guard for time going back still applies to it. A batch that lies
wholly more than ``bound`` before the newest time seen starts a new epoch (the
next file of a newest-first replay): what was held is released first, and the
older file is reordered on its own time line.

Pure and bounded: at most :data:`MAX_HELD` events are held (the oldest are
released early beyond that), and ``flush`` releases the rest at the end of a
replay (or when a live source has been idle).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from operator import attrgetter

from shieldwall.events import engine as engines
from shieldwall.events.event import Event

#: Default bound in seconds of log time.
DEFAULT_BOUND = 60.0
#: Events held at most; beyond this the oldest are released before their time.
MAX_HELD = 50_000

_TIME = attrgetter("time")
#: The compiled engine's scan of a batch's times (None: the sort decides alone).
_sorted_top = engines.compiled.sorted_top if engines.wanted() == "compiled" and engines.compiled else None


class Reorder:
    """Sorts events by time within ``bound`` seconds of log time (see the module docstring)."""

    def __init__(self, bound: float = DEFAULT_BOUND, *, max_held: int = MAX_HELD) -> None:
        if bound < 0:
            raise ValueError("a reorder bound cannot be negative")
        self.bound = bound
        self.max_held = max_held
        self._held: list[Event] = []
        self._newest = float("-inf")
        #: Events that arrived later than the bound allowed (passed on out of order).
        self.late = 0
        self._released = float("-inf")

    def __len__(self) -> int:
        return len(self._held)

    def push(self, events: Iterable[Event]) -> list[Event]:
        """Take a batch of events; return those now due, in time order."""
        batch = events if isinstance(events, list) else list(events)
        if not batch:
            return []
        if self.bound == 0:
            return batch
        out: list[Event] = []
        # A batch in time order (the usual case) has its top last, and needs no sort when it
        # starts at or after what is held: a stable sort would leave the two as they are.
        last = _sorted_top(batch) if _sorted_top is not None else None
        top = max(batch, key=_TIME).time if last is None else last
        if top < self._newest - self.bound:
            # The whole batch is from well before: a new epoch (an older file).
            out = self.flush()
            self._newest = self._released = float("-inf")
        held = self._held
        in_order = last is not None and (not held or held[-1].time <= batch[0].time)
        held.extend(batch)
        if not in_order:
            held.sort(key=_TIME)  # stable, and linear on the sorted runs it mostly gets
        if top > self._newest:
            self._newest = top
        cut = bisect_right(held, self._newest - self.bound, key=_TIME)
        if len(held) - cut > self.max_held:
            cut = len(held) - self.max_held
        if cut:
            due = held[:cut]
            del held[:cut]
            self._account(due)
            out += due
        return out

    def flush(self) -> list[Event]:
        """Release everything held, in time order (end of input, or a live source gone idle)."""
        due, self._held = self._held, []
        self._account(due)
        return due

    def _account(self, due: list[Event]) -> None:
        if not due:
            return
        if due[0].time < self._released:
            self.late += bisect_right(due, self._released, key=_TIME)
        self._released = max(self._released, due[-1].time)
