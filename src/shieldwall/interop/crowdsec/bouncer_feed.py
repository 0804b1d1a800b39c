"""Keeps the journal in step with the member's block store, cheaply.

The store is written by the agent (another process, usually);
:meth:`BlockStore.version` tells whether anyone committed since the last look, and
the earliest expiry among published blocks tells when time alone changes what
is active. Only then is the store read whole and diffed into the journal.

That diff costs about 1 s of CPU per 100,000 blocks here, so it is also paced:
once a sync takes longer than :data:`PACE_ABOVE`, syncing may take at most
``max_busy`` of the time, whatever the number of bouncers pulling and however
often the store changes; between two syncs bouncers are served what the
journal holds (a later pull gets the rest: no gap, only delay).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from shieldwall.enforcers.store import BlockStore
from shieldwall.interop.crowdsec.journal import Journal

#: Syncs quicker than this are never paced: a small store is always fresh.
PACE_ABOVE = 0.05


class BouncerFeed:
    """The block store, watched, and the journal it feeds."""

    def __init__(
        self, data_dir: Path, *, max_busy: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = BlockStore.open(data_dir)
        self.journal = Journal.open(data_dir)
        self._version: int | None = None
        self._next_expiry = -math.inf
        self._pause = 1.0 / max_busy - 1.0
        self._monotonic = monotonic
        self._not_before = -math.inf
        self.syncs = 0

    def refresh(self, now: float) -> int:
        """Bring the journal up to date with the store at ``now``; returns changes recorded."""
        started = self._monotonic()
        if started < self._not_before:
            return 0
        version = self.store.version()  # this feed never writes the store: any change is news
        if version == self._version and now < self._next_expiry:
            return 0
        changed = self.journal.sync(self.store.active(now))
        self._version = version
        self._next_expiry = min((e.until for e in self.journal.live.values()), default=math.inf)
        self.syncs += 1
        ended = self._monotonic()
        if ended - started > PACE_ABOVE:
            self._not_before = ended + (ended - started) * self._pause
        return changed

    def close(self) -> None:
        self.journal.close()
        self.store.close()
