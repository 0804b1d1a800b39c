"""The live stdin source on a real pipe and on a redirected regular file."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from shieldwall.sources.lines import MAX_LINE, LineStats
from shieldwall.sources.stdin import StdinSource


async def gather(source: StdinSource) -> list[bytes]:
    async with asyncio.timeout(10):
        return [chunk async for chunk in source.chunks()]


async def test_pipe_is_read_as_lines_arrive_and_ends_at_eof() -> None:
    read_end, write_end = os.pipe()
    try:
        source = StdinSource(fd=read_end)
        task = asyncio.create_task(gather(source))
        os.write(write_end, b"one\ntw")
        await asyncio.sleep(0.05)
        os.write(write_end, b"o\r\nlast \xff")
        os.close(write_end)
        write_end = -1
        chunks = await task
    finally:
        if write_end != -1:
            os.close(write_end)
        os.close(read_end)
    assert all(c.endswith(b"\n") for c in chunks)
    assert b"".join(chunks) == b"one\ntwo\r\nlast \xff\n"


async def test_redirected_regular_file_is_read_whole_with_long_lines_cut(tmp_path: Path) -> None:
    path = tmp_path / "in.log"
    path.write_bytes(b"a\n" + b"L" * (MAX_LINE + 9) + b"\nb\n")
    stats = LineStats()
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = await gather(StdinSource(fd=fd, read_size=1000, stats=stats))
    finally:
        os.close(fd)
    assert b"".join(chunks) == b"a\n" + b"L" * MAX_LINE + b"\nb\n"
    assert stats.lines_cut == 1
