"""A block list read from an exported file and reloaded when the file changes.

For application processes that run apart from the agent: the agent regenerates
``<data dir>/exports/blocklist.txt`` on every change (see :mod:`exports`), and
the middleware in each web worker looks the client up in this object.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from shieldwall.enforcers.lookup import BlockLookup


class BlocklistFile:
    """A :class:`BlockLookup` of a plain list file, re-read when its mtime or size changes.

    The file is stat-ed at most once per ``interval`` seconds; a missing file
    means nothing is blocked (the agent may not have written it yet).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.interval = interval
        self._clock = clock
        self._checked = -float("inf")
        self._stamp: tuple[int, int] | None = None
        self._lookup = BlockLookup()
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._lookup = None, BlockLookup()
            return
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return
        text = self.path.read_text(encoding="utf-8")
        targets = (w for line in text.splitlines() for w in line.split("#", 1)[0].split()[:1])
        self._lookup = BlockLookup.from_targets(targets)
        self._stamp = stamp

    def current(self) -> BlockLookup:
        """The lookup, refreshed if the interval has passed."""
        now = self._clock()
        if now - self._checked >= self.interval:
            with self._lock:
                if now - self._checked >= self.interval:
                    self._refresh()
                    self._checked = now
        return self._lookup

    def is_blocked(self, address: str) -> bool:
        """True when the file lists ``address`` or a range holding it."""
        return self.current().is_blocked(address)
