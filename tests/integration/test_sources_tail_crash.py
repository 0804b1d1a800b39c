"""tail -F across real process deaths (SIGKILL), not only clean stops.

A child process tails the file and prints every chunk; the test kills it with
SIGKILL between writes (and once across a rotation) and restarts it on the same
position file.

- Killed once caught up (its positions saved, as they are whenever it idles):
  every line is seen exactly once.
- Killed at an arbitrary moment while catching up: no line is skipped (lines
  since the last save may be seen again: the documented at-least-once window).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

WAIT = 15.0

CHILD = r"""
import asyncio, sys
from shieldwall.sources.state import PositionStore
from shieldwall.sources.tail import TailSource

async def main():
    source = TailSource(sys.argv[1], PositionStore.load(sys.argv[2]), from_start=True,
                        read_size=int(sys.argv[3]))
    async for chunk in source.chunks():
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()

asyncio.run(main())
"""


def numbered(start: int, stop: int) -> bytes:
    return b"".join(b"Nov 29 02:21:44 host sshd[7]: line %06d\n" % i for i in range(start, stop))


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


class Child:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.data = b""

    @classmethod
    async def start(cls, log: Path, state: Path, read_size: int = 1 << 20) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, str(log), str(state), str(read_size),
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def until(self, marker: bytes) -> None:
        assert self.proc.stdout is not None
        async with asyncio.timeout(WAIT):
            while marker not in self.data:
                data = await self.proc.stdout.read(65536)
                assert data, "the tail process ended"
                self.data += data

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        if self.proc.stdout is not None:
            self.data += await self.proc.stdout.read()


async def saved_offset_reaches(state: Path, log: Path, offset: int) -> None:
    """Wait (bounded) until the position file says the tail has taken ``offset`` bytes."""
    async with asyncio.timeout(WAIT):
        while True:
            with contextlib.suppress(FileNotFoundError, ValueError):
                position = json.loads(state.read_bytes())["files"].get(str(log))
                if position and position["offset"] == offset:
                    return
            await asyncio.sleep(0.02)


def numbers(data: bytes) -> list[int]:
    return [int(line.rsplit(b" ", 1)[1]) for line in data.splitlines()]


async def test_sigkill_after_catching_up_loses_and_repeats_nothing(tmp_path: Path) -> None:
    log, state = tmp_path / "auth.log", tmp_path / "positions.json"
    log.write_bytes(numbered(0, 100))
    seen = b""
    total = 100
    for round_ in range(4):
        child = await Child.start(log, state)
        try:
            await child.until(numbered(total - 1, total))
            if round_ != 1:
                append(log, numbered(total, total + 50))
                total += 50
                await child.until(numbered(total - 1, total))
            await saved_offset_reaches(state, log, log.stat().st_size)
        finally:
            await child.kill()
        seen += child.data
        # Written while nothing runs; in round 2 the file is also rotated meanwhile.
        append(log, numbered(total, total + 30))
        total += 30
        if round_ == 2:
            os.rename(log, tmp_path / "auth.log.1")
            log.write_bytes(numbered(total, total + 10))
            total += 10
    child = await Child.start(log, state)
    try:
        await child.until(numbered(total - 1, total))
    finally:
        await child.kill()
    seen += child.data
    assert numbers(seen) == list(range(total))


async def test_sigkill_at_any_moment_skips_no_line(tmp_path: Path) -> None:
    log, state = tmp_path / "auth.log", tmp_path / "positions.json"
    total = 20_000
    log.write_bytes(numbered(0, total))
    seen = b""
    for _ in range(3):
        # Small reads so that the kill lands while it is still catching up.
        child = await Child.start(log, state, read_size=4096)
        try:
            await child.until(b"\n")
        finally:
            await child.kill()
        seen += child.data
    child = await Child.start(log, state)
    try:
        await child.until(numbered(total - 1, total))
    finally:
        await child.kill()
    seen += child.data
    assert set(numbers(seen)) == set(range(total))
