"""Fan-out: a follower gets the backlog then live decisions, no gap, no duplicate.

The ledger is replaced by an in-memory list here (the feed only needs a page
reader); the real ledger is exercised in tests/integration.
"""

from __future__ import annotations

import asyncio

from shieldwall.decisions.codec import SSEParser
from shieldwall.decisions.decision import Decision, decode_decision
from shieldwall.decisions.feed import Feed


def decision(cursor: int) -> Decision:
    return Decision(cursor=cursor, action="block", target=f"45.13.{cursor // 250}.{cursor % 250}",
                    until=2e9)


class Log:
    def __init__(self) -> None:
        self.entries: list[Decision] = []

    async def read(self, after: int, limit: int) -> list[Decision]:
        return [d for d in self.entries if d.cursor > after][:limit]


async def collect(feed: Feed, after: int, count: int) -> list[int]:
    parser = SSEParser()
    cursors: list[int] = []
    async for frame in feed.follow(after, heartbeat=0.05):
        for event in parser.feed(frame):
            if event.event == "decision":
                cursors.append(decode_decision(event.data).cursor)
        if len(cursors) >= count:
            break
    return cursors


async def test_follower_gets_backlog_then_live_without_gap_or_duplicate() -> None:
    log = Log()
    log.entries = [decision(i) for i in range(1, 8)]
    feed = Feed(log.read, page_size=3)
    await feed.start(7)
    task = asyncio.create_task(collect(feed, 2, 13))
    await asyncio.sleep(0.01)
    for i in range(8, 16):
        log.entries.append(decision(i))
        await feed.publish([decision(i)])
    assert await asyncio.wait_for(task, 2) == list(range(3, 16))


async def test_slow_follower_overflowing_its_queue_rereads_the_ledger() -> None:
    log = Log()
    feed = Feed(log.read, page_size=5, queue_size=2)
    await feed.start(0)
    task = asyncio.create_task(collect(feed, 0, 20))
    await asyncio.sleep(0.01)
    batch = [decision(i) for i in range(1, 21)]
    log.entries.extend(batch)
    await feed.publish(batch)
    assert await asyncio.wait_for(task, 2) == list(range(1, 21))


async def test_decisions_written_by_another_process_are_backfilled() -> None:
    log = Log()
    feed = Feed(log.read)
    await feed.start(0)
    task = asyncio.create_task(collect(feed, 0, 3))
    await asyncio.sleep(0.01)
    log.entries.extend([decision(1), decision(2), decision(3)])
    await feed.publish([decision(3)])  # 1 and 2 came from elsewhere
    assert await asyncio.wait_for(task, 2) == [1, 2, 3]
    assert feed.head == 3


async def test_idle_stream_sends_heartbeats() -> None:
    log = Log()
    feed = Feed(log.read)
    await feed.start(0)
    frames = feed.follow(0, heartbeat=0.01)
    first = await asyncio.wait_for(frames.__anext__(), 1)
    assert first.startswith(b"event: heartbeat")
    await frames.aclose()
    assert feed.connected == 0


async def test_cutting_a_member_ends_its_streams_before_the_next_decision() -> None:
    log = Log()
    feed = Feed(log.read)
    await feed.start(0)
    frames: dict[str, list[bytes]] = {"alice": [], "bob": []}

    async def follow(member: str) -> None:
        async for frame in feed.follow(0, heartbeat=10.0, member=member):
            frames[member].append(frame)

    tasks = [asyncio.create_task(follow(m)) for m in ("alice", "bob")]
    while feed.streams_of("alice") < 1 or feed.streams_of("bob") < 1:
        await asyncio.sleep(0.01)
    assert feed.cut({"alice"}) == 1
    log.entries = [decision(1)]
    await feed.publish([decision(1)])
    await asyncio.wait_for(tasks[0], 5)  # alice's stream ended on its own
    while not any(b"event: decision" in f for f in frames["bob"]):
        await asyncio.sleep(0.01)
    assert not any(b"event: decision" in f for f in frames["alice"])
    assert feed.streams_of("alice") == 0 and feed.streams_of("bob") == 1
    feed.close()
    await asyncio.wait_for(tasks[1], 5)


async def test_the_first_heartbeat_tells_the_head_and_never_the_members_own_cursor() -> None:
    log = Log()
    log.entries = [decision(i) for i in range(1, 4)]
    feed = Feed(log.read)
    await feed.start(3)
    parser = SSEParser()
    async for frame in feed.follow(500, heartbeat=10.0):
        events = parser.feed(frame)
        if events:
            assert (events[0].event, events[0].data) == ("heartbeat", '{"head":3}')
            break


def decisions_in(chunk: bytes) -> list[int]:
    return [decode_decision(e.data).cursor for e in SSEParser().feed(chunk)
            if e.event == "decision"]


async def test_decisions_queued_while_the_stream_writes_leave_in_one_chunk() -> None:
    log = Log()
    feed = Feed(log.read)
    await feed.start(0)
    progress: list[int] = []
    frames = feed.follow(0, heartbeat=10.0, progress=progress.append)
    assert (await frames.__anext__()).startswith(b"event: heartbeat")  # caught up
    pending = asyncio.ensure_future(frames.__anext__())
    await asyncio.sleep(0.01)
    log.entries.append(decision(1))
    await feed.publish([decision(1)])
    assert decisions_in(await pending) == [1]
    # The stream is "writing" (not iterated) while three more are published one by one.
    for i in (2, 3, 4):
        log.entries.append(decision(i))
        await feed.publish([decision(i)])
    assert decisions_in(await frames.__anext__()) == [2, 3, 4]
    # Told once per chunk, its last cursor, once written (when the next is asked for).
    assert progress == [1]
    await frames.aclose()
    assert feed.connected == 0 and feed.streams_of("") == 0


async def test_a_live_stream_left_quiet_sends_heartbeats_with_the_head() -> None:
    log = Log()
    log.entries = [decision(1)]
    feed = Feed(log.read)
    await feed.start(1)
    parser = SSEParser()
    frames = feed.follow(0, heartbeat=0.05)
    events = [e for _ in range(3) for e in parser.feed(await frames.__anext__())]
    # The backlog, the caught-up heartbeat, then one after the quiet interval.
    assert [e.event for e in events] == ["decision", "heartbeat", "heartbeat"]
    assert events[-1].data == '{"head":1}'
    log.entries.append(decision(2))
    await feed.publish([decision(2)])
    assert decisions_in(await frames.__anext__()) == [2]
    assert parser.feed(await frames.__anext__())[0].data == '{"head":2}'
    await frames.aclose()


async def test_a_cut_stream_sends_none_of_the_decisions_queued_for_it() -> None:
    log = Log()
    feed = Feed(log.read)
    await feed.start(0)
    frames = feed.follow(0, heartbeat=10.0, member="alice")
    await frames.__anext__()  # caught up
    log.entries = [decision(1), decision(2)]
    await feed.publish(log.entries)  # queued while the stream is not reading
    assert feed.cut({"alice"}) == 1
    assert [chunk async for chunk in frames] == []
    assert feed.streams_of("alice") == 0
