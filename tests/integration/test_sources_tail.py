"""tail -F on real files in tmp_path with real inotify.

Every wait is bounded (a few seconds) but nothing asserts how fast a line
arrives: these are behaviour tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from pathlib import Path

import pytest

from shieldwall.errors import SourceError
from shieldwall.sources.lines import MAX_LINE
from shieldwall.sources.state import PositionStore
from shieldwall.sources.tail import TailSource

WAIT = 10.0


class Tail:
    """Runs a TailSource in a task and gathers what it yields."""

    def __init__(self, path: Path, store: PositionStore, **options: object) -> None:
        self.source = TailSource(path, store, **options)  # type: ignore[arg-type]
        self.data = b""
        self.chunks = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async for chunk in self.source.chunks():
            assert chunk.endswith(b"\n")
            self.data += chunk
            self.chunks += 1
            self._changed.set()

    async def start(self) -> Tail:
        self._task = asyncio.create_task(self._run())
        waiter = asyncio.ensure_future(self.source.watching.wait())
        done, _ = await asyncio.wait({waiter, self._task}, timeout=WAIT,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            waiter.cancel()
            self._task.result()
        assert waiter in done, "tail did not start"
        return self

    async def until(self, expected: bytes) -> bytes:
        """Wait until everything seen ends with ``expected`` (or contains it)."""
        async def wait() -> None:
            while expected not in self.data:
                self._changed.clear()
                if self._task is not None and self._task.done():
                    self._task.result()
                await self._changed.wait()
        async with asyncio.timeout(WAIT):
            await wait()
        return self.data

    async def settle(self) -> None:
        """Give pending inotify events a chance to be handled (no timing asserted)."""
        for _ in range(5):
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def numbered(start: int, stop: int) -> bytes:
    return b"".join(b"Nov 29 02:21:44 host sshd[7]: line %06d\n" % i for i in range(start, stop))


def numbers_seen(data: bytes) -> list[int]:
    return [int(line.rsplit(b" ", 1)[1]) for line in data.splitlines() if b" line " in line]


async def test_lines_appended_after_start_are_yielded_and_old_ones_skipped(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"old line\n")
    tail = await Tail(path, PositionStore()).start()
    try:
        append(path, b"new one\nnew two\n")
        assert await tail.until(b"new two\n") == b"new one\nnew two\n"
    finally:
        await tail.stop()


async def test_from_start_reads_what_the_file_already_holds(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"old line\n")
    tail = await Tail(path, PositionStore(), from_start=True).start()
    try:
        append(path, b"new\n")
        assert await tail.until(b"new\n") == b"old line\nnew\n"
    finally:
        await tail.stop()


async def test_start_at_end_waits_for_the_newline_of_a_line_being_written(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"done\nhalf")
    tail = await Tail(path, PositionStore()).start()
    try:
        append(path, b" written\nnext\n")
        assert await tail.until(b"next\n") == b"half written\nnext\n"
    finally:
        await tail.stop()


async def test_file_that_appears_later_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "late.log"
    tail = await Tail(path, PositionStore()).start()
    try:
        path.write_bytes(b"first\n")
        append(path, b"second\n")
        assert await tail.until(b"second\n") == b"first\nsecond\n"
    finally:
        await tail.stop()


async def test_rotation_by_rename_finishes_the_old_file_then_follows_the_new(
    tmp_path: Path,
) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore()).start()
    try:
        writer = open(path, "ab", buffering=0)  # noqa: SIM115 - a daemon's long-lived handle
        try:
            writer.write(b"a1\na2\n")
            await tail.until(b"a2\n")
            os.rename(path, tmp_path / "auth.log.1")
            path.write_bytes(b"")
            await tail.settle()
            # The daemon writes to the old file until it is told to reopen.
            writer.write(b"a3 after rename\nunterminated")
        finally:
            writer.close()
        append(path, b"b1\n")
        data = await tail.until(b"b1\n")
        assert data == b"a1\na2\na3 after rename\nunterminated\nb1\n"
        assert tail.source.stats.rotations == 1
    finally:
        await tail.stop()


async def test_two_rotations_in_a_row_are_both_followed(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore()).start()
    try:
        for generation in range(3):
            append(path, b"gen %d\n" % generation)
            await tail.until(b"gen %d\n" % generation)
            os.rename(path, tmp_path / f"auth.log.{generation}")
            path.write_bytes(b"")
        append(path, b"last\n")
        assert await tail.until(b"last\n") == b"gen 0\ngen 1\ngen 2\nlast\n"
    finally:
        await tail.stop()


async def test_copytruncate_restarts_at_zero(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore()).start()
    try:
        append(path, b"before truncation, a long line\nsecond\n")
        await tail.until(b"second\n")
        shutil.copyfile(path, tmp_path / "auth.log.1")
        with open(path, "r+b") as handle:
            handle.truncate(0)
        append(path, b"after\n")
        data = await tail.until(b"after\n")
        assert data == b"before truncation, a long line\nsecond\nafter\n"
        assert tail.source.stats.truncations == 1
    finally:
        await tail.stop()


async def test_unterminated_last_line_is_held_until_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore()).start()
    try:
        append(path, b"whole\npart")
        await tail.until(b"whole\n")
        await tail.settle()
        assert tail.data == b"whole\n"
        append(path, b"ial\n")
        assert await tail.until(b"partial\n") == b"whole\npartial\n"
    finally:
        await tail.stop()


async def test_crlf_and_invalid_utf8_pass_through_as_bytes(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore()).start()
    try:
        payload = b"crlf line\r\nbad \xff\xfe\xc3 utf-8\r\n"
        append(path, payload)
        assert await tail.until(b"utf-8\r\n") == payload
    finally:
        await tail.stop()


async def test_overlong_line_is_cut_counted_and_the_next_line_survives(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore(), read_size=50_000).start()
    try:
        append(path, b"Z" * (MAX_LINE * 3) + b"\nafter\n")
        assert await tail.until(b"after\n") == b"Z" * MAX_LINE + b"\nafter\n"
        assert tail.source.stats.lines.lines_cut == 1
    finally:
        await tail.stop()


async def test_missing_directory_is_a_source_error(tmp_path: Path) -> None:
    source = TailSource(tmp_path / "nope" / "auth.log", PositionStore())
    with pytest.raises(SourceError, match="no such directory"):
        async for _ in source.chunks():
            pass


async def test_restarts_between_writes_see_each_line_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    state = tmp_path / "positions.json"
    path.write_bytes(b"")
    seen = b""
    total = 0
    for _ in range(6):
        tail = await Tail(path, PositionStore.load(state), from_start=True).start()
        try:
            # Lines written while stopped, then while running, one of them in two halves.
            append(path, numbered(total, total + 40))
            half = numbered(total + 40, total + 41)
            append(path, half[:10])
            await tail.until(numbered(total + 39, total + 40))
            append(path, half[10:] + numbered(total + 41, total + 50))
            await tail.until(numbered(total + 49, total + 50))
        finally:
            await tail.stop()
        seen += tail.data
        total += 50
        # Written while no tail runs; the next one must pick these up.
        append(path, numbered(total, total + 7))
        total += 7
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        await tail.until(numbered(total - 1, total))
    finally:
        await tail.stop()
    seen += tail.data
    assert numbers_seen(seen) == list(range(total))


async def test_rotation_while_stopped_reads_the_rest_of_the_rotated_file_then_the_new(
    tmp_path: Path,
) -> None:
    path = tmp_path / "auth.log"
    state = tmp_path / "positions.json"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        append(path, numbered(0, 10))
        await tail.until(numbered(9, 10))
    finally:
        await tail.stop()
    first = tail.data
    append(path, numbered(10, 15))
    os.rename(path, tmp_path / "auth.log.1")
    path.write_bytes(numbered(15, 20))
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        await tail.until(numbered(19, 20))
        assert tail.source.stats.resumed == 1
    finally:
        await tail.stop()
    assert numbers_seen(first + tail.data) == list(range(20))


async def test_rotated_file_gone_while_stopped_counts_a_gap_and_reads_the_new_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "auth.log"
    state = tmp_path / "positions.json"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        append(path, numbered(0, 3))
        await tail.until(numbered(2, 3))
    finally:
        await tail.stop()
    os.rename(path, tmp_path / "auth.log.1")
    path.write_bytes(numbered(3, 5))
    # Deleted only after the new file exists, so that its inode is not reused.
    (tmp_path / "auth.log.1").unlink()
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        assert await tail.until(numbered(4, 5)) == numbered(3, 5)
        assert tail.source.stats.resume_gaps == 1
    finally:
        await tail.stop()


async def test_file_truncated_while_stopped_is_read_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    state = tmp_path / "positions.json"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        append(path, numbered(0, 5))
        await tail.until(numbered(4, 5))
    finally:
        await tail.stop()
    with open(path, "r+b") as handle:
        handle.truncate(0)
    append(path, numbered(5, 6))
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        assert await tail.until(numbered(5, 6)) == numbered(5, 6)
    finally:
        await tail.stop()


async def test_same_inode_with_different_content_is_not_resumed(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    state = tmp_path / "positions.json"
    path.write_bytes(b"")
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        append(path, numbered(0, 5))
        await tail.until(numbered(4, 5))
    finally:
        await tail.stop()
    # Rewritten in place while stopped, and longer: only the check hash can tell.
    with open(path, "r+b") as handle:
        handle.write(numbered(100, 106))
    tail = await Tail(path, PositionStore.load(state)).start()
    try:
        assert await tail.until(numbered(105, 106)) == numbered(100, 106)
    finally:
        await tail.stop()


async def test_symlink_to_a_file_in_another_directory_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "real" / "app.log"
    target.write_bytes(b"")
    link = tmp_path / "links" / "auth.log"
    link.symlink_to(target)
    tail = await Tail(link, PositionStore()).start()
    try:
        append(target, b"through the link\n")
        assert await tail.until(b"link\n") == b"through the link\n"
    finally:
        await tail.stop()


async def test_old_file_is_finished_after_a_quiet_spell_even_if_the_new_stays_empty(
    tmp_path: Path,
) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"")
    # A short safety timeout stands for the long quiet spell.
    tail = await Tail(path, PositionStore(), safety_timeout=0.1).start()
    try:
        append(path, b"whole\ncut short")
        await tail.until(b"whole\n")
        os.rename(path, tmp_path / "auth.log.1")
        path.write_bytes(b"")
        assert await tail.until(b"cut short\n") == b"whole\ncut short\n"
    finally:
        await tail.stop()


async def test_starting_inside_an_overlong_last_line_drops_its_fragment(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    # No newline in the last 64 KiB: we start inside a line; its tail must not pass
    # for a line of its own (an attacker could shape it like a log line).
    path.write_bytes(b"old\n" + b"x" * (2 * MAX_LINE))
    tail = await Tail(path, PositionStore()).start()
    try:
        append(path, b"Nov 29 02:21:44 host sshd[1]: forged tail\nreal next\n")
        assert await tail.until(b"real next\n") == b"real next\n"
    finally:
        await tail.stop()


async def next_chunk_then_close(source: TailSource, commit: bool) -> bytes:
    async with contextlib.aclosing(source.chunks()) as chunks:
        async with asyncio.timeout(WAIT):
            chunk = await anext(chunks)
        if commit:
            source.commit()
        return chunk


async def test_chunk_not_committed_before_stopping_is_handed_out_again(tmp_path: Path) -> None:
    path, state = tmp_path / "auth.log", tmp_path / "positions.json"
    path.write_bytes(b"one\n")
    first = await next_chunk_then_close(TailSource(path, PositionStore.load(state),
                                                   from_start=True), commit=False)
    again = await next_chunk_then_close(TailSource(path, PositionStore.load(state),
                                                   from_start=True), commit=True)
    assert first == again == b"one\n"
    append(path, b"two\n")
    assert await next_chunk_then_close(
        TailSource(path, PositionStore.load(state), from_start=True), commit=True
    ) == b"two\n"


async def test_fifo_in_place_of_the_log_is_a_source_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    os.mkfifo(path)
    source = TailSource(path, PositionStore())
    with pytest.raises(SourceError, match="not a regular file"):
        async with asyncio.timeout(WAIT):
            async for _ in source.chunks():
                pass
