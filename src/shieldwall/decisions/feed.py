"""Hub side of the decision stream: fan each new decision out to every follower.

A follower first subscribes to live decisions, then reads the backlog after its
cursor from the ledger, then drains its live queue skipping what the backlog
already gave: no gap (it subscribed before reading) and no duplicate (cursors
only grow). A follower too slow to keep up overflows its queue and goes back to
reading the ledger, so one slow member cannot make the hub buffer without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from shieldwall.decisions.codec import decision_frame, heartbeat_frame
from shieldwall.decisions.decision import Decision

PageReader = Callable[[int, int], Awaitable[list[Decision]]]


class _Subscription:
    __slots__ = ("cut", "member", "overflowed", "queue")

    def __init__(self, size: int, member: str) -> None:
        self.queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(size)
        self.overflowed = False
        self.member = member
        #: Set when the member was expelled or left: the stream ends at once.
        self.cut = False

    def wake(self) -> None:
        # A sentinel below every cursor: the stream skips it and sees why it woke.
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait((0, b""))


class Feed:
    """The hub's fan-out of the decision log to connected streams."""

    def __init__(self, read_page: PageReader, page_size: int = 1000, queue_size: int = 10_000):
        self._read_page = read_page
        self.page_size = page_size
        self.queue_size = queue_size
        #: Highest cursor published to subscribers.
        self.head = 0
        self._subscribers: set[_Subscription] = set()
        #: cursor last sent by each live stream, for the lag metric.
        self._positions: dict[int, int] = {}
        self._closed = asyncio.Event()
        #: Under a council: the signed checkpoint frame a caught-up stream sends (else None).
        self.seal: Callable[[], Awaitable[bytes | None]] | None = None

    @property
    def connected(self) -> int:
        """How many streams are open."""
        return len(self._positions)

    @property
    def lag(self) -> int:
        """How many decisions the furthest-behind open stream still has to send."""
        if not self._positions:
            return 0
        return max(0, self.head - min(self._positions.values()))

    async def start(self, head: int) -> None:
        """Begin at the ledger's current head."""
        self.head = head

    def close(self) -> None:
        """End every open stream (hub shutdown), waking the ones waiting for news."""
        self._closed.set()
        for sub in self._subscribers:
            sub.wake()

    def streams_of(self, member: str) -> int:
        """How many streams ``member`` has open."""
        return sum(1 for sub in self._subscribers if sub.member == member)

    def cut(self, members: set[str]) -> int:
        """End the open streams of ``members`` (expelled or gone); returns how many."""
        count = 0
        for sub in self._subscribers:
            if sub.member in members and not sub.cut:
                sub.cut = True
                sub.wake()
                count += 1
        return count

    async def publish(self, decisions: list[Decision]) -> None:
        """Hand newly durable decisions to every subscriber, filling any gap from the ledger.

        A gap appears when another process (an operator's ``hub lift``) appended
        to the log; those entries are read back so subscribers see every cursor.
        """
        ordered = sorted(decisions, key=lambda d: d.cursor)
        if (ordered and ordered[0].cursor > self.head + 1) or not ordered:
            ordered = await self._backfill(ordered)
        frames = [(d.cursor, decision_frame(d)) for d in ordered if d.cursor > self.head]
        if not frames:
            return
        self.head = frames[-1][0]
        for sub in self._subscribers:
            if sub.overflowed:
                continue
            for item in frames:
                try:
                    sub.queue.put_nowait(item)
                except asyncio.QueueFull:
                    sub.overflowed = True
                    break

    async def catch_up(self) -> None:
        """Publish whatever the ledger holds beyond :attr:`head`."""
        await self.publish([])

    async def _backfill(self, known: list[Decision]) -> list[Decision]:
        result: list[Decision] = []
        cursor = self.head
        stop = known[0].cursor if known else None
        while True:
            page = await self._read_page(cursor, self.page_size)
            page = [d for d in page if stop is None or d.cursor < stop]
            result.extend(page)
            if len(page) < self.page_size:
                break
            cursor = page[-1].cursor
        return result + known

    async def follow(
        self, after: int, heartbeat: float, progress: Callable[[int], None] | None = None,
        member: str = "",
    ) -> AsyncIterator[bytes]:
        """SSE frames for one stream: backlog after ``after``, then live, with heartbeats.

        ``progress`` is told the cursor of each decision handed to the stream (the
        hub records it as the member's position). The stream ends when ``member``
        is :meth:`cut`, before any further decision is sent.
        """
        sub = _Subscription(self.queue_size, member)
        self._subscribers.add(sub)
        token = id(sub)
        sent = sealed = after
        #: The highest cursor this stream itself sent (``after`` is only the member's word).
        delivered = 0
        self._positions[token] = sent
        try:
            while not self._closed.is_set() and not sub.cut:
                # Backlog (also after an overflow): read the ledger until caught up.
                while not sub.cut:
                    page = await self._read_page(sent, self.page_size)
                    for decision in page:
                        if sub.cut:
                            return
                        yield decision_frame(decision)
                        sent = delivered = decision.cursor
                        self._positions[token] = sent
                    if page and progress is not None:
                        progress(sent)
                    if len(page) < self.page_size:
                        break
                if sub.overflowed:
                    sub.queue = asyncio.Queue(self.queue_size)
                    sub.overflowed = False
                    continue
                # Caught up: say where the log ends at once, so a member whose cursor is
                # ahead of it (a hub that lost decisions) knows without waiting. Never
                # below what this stream sent (the ledger may be ahead of the fan-out).
                yield heartbeat_frame(max(self.head, delivered))
                while not sub.overflowed and not self._closed.is_set():
                    if self.seal is not None and sent > sealed and sub.queue.empty():
                        # Caught up: the hub's signature over everything sent (members verify).
                        sealed = sent
                        checkpoint = await self.seal()
                        if checkpoint is not None:
                            yield checkpoint
                    try:
                        cursor, frame = await asyncio.wait_for(sub.queue.get(), heartbeat)
                    except TimeoutError:
                        yield heartbeat_frame(max(self.head, delivered))
                        continue
                    if sub.cut:
                        return
                    if cursor <= sent:
                        continue
                    if cursor > sent + 1:
                        # Defensive: a hole between what we sent and the live queue is
                        # read back from the ledger rather than skipped.
                        page = await self._read_page(sent, cursor - sent - 1)
                        for decision in page:
                            yield decision_frame(decision)
                            sent = decision.cursor
                    yield frame
                    sent = delivered = cursor
                    self._positions[token] = sent
                    if progress is not None:
                        progress(sent)
        finally:
            self._subscribers.discard(sub)
            self._positions.pop(token, None)
