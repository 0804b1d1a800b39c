"""Hub side of the decision stream: fan each new decision out to every follower.

A follower first subscribes to live decisions, then reads the backlog after its
cursor from the ledger, then drains its live queue skipping what the backlog
already gave: no gap (it subscribed before reading) and no duplicate (cursors
only grow). A follower too slow to keep up overflows its queue and goes back to
reading the ledger, so one slow member cannot make the hub buffer without bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable

from shieldwall.decisions.codec import decision_frame, heartbeat_frame
from shieldwall.decisions.decision import Decision

PageReader = Callable[[int, int], Awaitable[list[Decision]]]


class _Subscription:
    """One stream's mailbox: the frames published since it last wrote, bounded.

    Lighter than an ``asyncio.Queue`` (the fan-out touches every stream for every
    decision): a deque, and one future while the stream waits for news.
    """

    __slots__ = ("_waiter", "cut", "member", "overflowed", "pending", "quiet_since", "size")

    def __init__(self, size: int, member: str, now: float) -> None:
        self.pending: deque[tuple[int, bytes]] = deque()
        self.size = size
        self.overflowed = False
        self.member = member
        #: Set when the member was expelled or left: the stream ends at once.
        self.cut = False
        #: Loop time of the stream's last write: the heartbeat is due ``heartbeat`` later.
        self.quiet_since = now
        self._waiter: asyncio.Future[None] | None = None

    def put(self, items: list[tuple[int, bytes]]) -> None:
        """Queue ``items``; past :attr:`size` pending, mark the stream overflowed instead."""
        if len(self.pending) + len(items) > self.size:
            self.overflowed = True
        else:
            self.pending.extend(items)
        self._notify()

    def wake(self) -> None:
        """Make the waiting stream look at its state (cut, closed, heartbeat due)."""
        self._notify()

    def _notify(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> list[tuple[int, bytes]]:
        """Everything pending, waiting for a put or a wake while there is nothing."""
        if not self.pending:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        items = list(self.pending)
        self.pending.clear()
        return items


class _Heartbeat:
    """One timer per stream that wakes it when it has been quiet for ``interval``.

    Cheaper than a timeout around every wait (``asyncio.wait_for`` makes a task per
    call): a write only notes the loop time, and the timer, when it fires early
    because something was written meanwhile, re-arms itself once for the new deadline.
    """

    __slots__ = ("_handle", "_interval", "_loop", "_sub", "due")

    def __init__(self, sub: _Subscription, interval: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._sub = sub
        self._interval = interval
        #: Set when the stream must send a heartbeat now.
        self.due = False
        self._handle = self._loop.call_at(sub.quiet_since + interval, self._fire)

    def _fire(self) -> None:
        deadline = self._sub.quiet_since + self._interval
        if self._loop.time() < deadline:
            self._handle = self._loop.call_at(deadline, self._fire)
            return
        self.due = True
        self._sub.wake()
        self._handle = self._loop.call_at(self._loop.time() + self._interval, self._fire)

    def cancel(self) -> None:
        self._handle.cancel()


class Feed:
    """The hub's fan-out of the decision log to connected streams."""

    def __init__(self, read_page: PageReader, page_size: int = 1000, queue_size: int = 10_000):
        self._read_page = read_page
        self.page_size = page_size
        self.queue_size = queue_size
        #: Highest cursor published to subscribers.
        self.head = 0
        self._subscribers: set[_Subscription] = set()
        #: Open streams per member (the per-member quota asks on every stream request).
        self._per_member: dict[str, int] = {}
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
        return self._per_member.get(member, 0)

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
            sub.put(frames)

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
        member: str = "", preamble: bytes = b"",
    ) -> AsyncGenerator[bytes, None]:
        """SSE frames for one stream: backlog after ``after``, then live, with heartbeats.

        ``preamble`` (if any) is sent first. Each chunk yielded may carry several
        frames: a backlog page, or every decision queued since the last write, so that
        one write (one TLS record) carries them. ``progress`` is told the cursor of the
        last decision of each chunk handed to the stream (the hub records it as the
        member's position). The stream ends when ``member`` is :meth:`cut`, before any
        further decision is sent.
        """
        loop = asyncio.get_running_loop()
        sub = _Subscription(self.queue_size, member, loop.time())
        self._subscribers.add(sub)
        self._per_member[member] = self._per_member.get(member, 0) + 1
        token = id(sub)
        sent = sealed = after
        #: The highest cursor this stream itself sent (``after`` is only the member's word).
        delivered = 0
        self._positions[token] = sent
        beat = _Heartbeat(sub, heartbeat)
        try:
            if preamble:
                yield preamble
            while not self._closed.is_set() and not sub.cut:
                # Backlog (also after an overflow): read the ledger until caught up.
                while not sub.cut:
                    page = await self._read_page(sent, self.page_size)
                    if sub.cut:
                        return
                    if page:
                        yield b"".join([decision_frame(d) for d in page])
                        sent = delivered = page[-1].cursor
                        self._positions[token] = sent
                        sub.quiet_since = loop.time()
                        if progress is not None:
                            progress(sent)
                    if len(page) < self.page_size:
                        break
                if sub.overflowed:
                    sub.pending.clear()  # the ledger has them all, and more
                    sub.overflowed = False
                    continue
                # Caught up: say where the log ends at once, so a member whose cursor is
                # ahead of it (a hub that lost decisions) knows without waiting. Never
                # below what this stream sent (the ledger may be ahead of the fan-out).
                yield heartbeat_frame(max(self.head, delivered))
                sub.quiet_since, beat.due = loop.time(), False
                while not sub.overflowed and not self._closed.is_set():
                    if self.seal is not None and sent > sealed and not sub.pending:
                        # Caught up: the hub's signature over everything sent (members verify).
                        sealed = sent
                        checkpoint = await self.seal()
                        if checkpoint is not None:
                            yield checkpoint
                            sub.quiet_since = loop.time()
                    chunk: list[bytes] = []
                    for cursor, frame in await sub.take():  # all queued meanwhile: one write
                        if cursor <= sent:
                            continue  # what the backlog already sent
                        if cursor > sent + 1:
                            # Defensive: a hole between what we sent and the live queue
                            # is read back from the ledger rather than skipped.
                            hole = await self._read_page(sent, cursor - sent - 1)
                            chunk.extend(decision_frame(d) for d in hole)
                        chunk.append(frame)
                        sent = cursor
                    if sub.cut:
                        return
                    if chunk:
                        yield b"".join(chunk)
                        beat.due = False  # that write was news enough
                        delivered = sent
                        self._positions[token] = sent
                        sub.quiet_since = loop.time()
                        if progress is not None:
                            progress(sent)
                    elif beat.due:
                        beat.due = False
                        yield heartbeat_frame(max(self.head, delivered))
                        sub.quiet_since = loop.time()
        finally:
            beat.cancel()
            self._subscribers.discard(sub)
            self._positions.pop(token, None)
            left = self._per_member.get(member, 1) - 1
            if left:
                self._per_member[member] = left
            else:
                self._per_member.pop(member, None)
