"""Sources feed the events stage: a log tailed through rotations, restarts and
writes cut mid-line gives exactly the events of replaying the same log whole."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from pathlib import Path

from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream
from shieldwall.sources.replay import iter_file_chunks
from shieldwall.sources.state import PositionStore
from shieldwall.sources.tail import TailSource
from tests.conftest import shared_data

WAIT = 15.0


def events_of(chunks: list[bytes]) -> list[tuple[float, str, str]]:
    stream = EventStream(load_pack("sshd"), year=2025)
    out: list[tuple[float, str, str]] = []
    for chunk in chunks:
        out.extend((e.time, e.key, e.pattern) for e in stream.feed(chunk))
    return out


async def tail_until(path: Path, state: Path, expected_bytes: int, into: list[bytes]) -> None:
    """Run a tail until ``expected_bytes`` of lines in all have arrived, then stop it."""
    source = TailSource(path, PositionStore.load(state), from_start=True)

    async def run() -> None:
        async with contextlib.aclosing(source.chunks()) as chunks:
            async for chunk in chunks:
                into.append(chunk)
                if sum(map(len, into)) >= expected_bytes:
                    source.commit()  # handled: do not hand it out again after a restart
                    return

    task = asyncio.create_task(run())
    try:
        async with asyncio.timeout(WAIT):
            await asyncio.shield(task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_tailed_log_with_rotations_and_restarts_gives_the_events_of_replay(
    tmp_path: Path,
) -> None:
    original = shared_data("loghub", "OpenSSH_2k.log").read_bytes()
    if not original.endswith(b"\n"):
        original += b"\n"
    whole = list(iter_file_chunks(shared_data("loghub", "OpenSSH_2k.log")))
    expected = events_of(whole)
    assert len(expected) > 500

    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(original)), 9))
    pieces = [original[a:b] for a, b in zip([0, *cuts], [*cuts, len(original)], strict=True)]
    path, state = tmp_path / "auth.log", tmp_path / "positions.json"
    path.write_bytes(b"")
    got: list[bytes] = []
    written = 0
    for index, piece in enumerate(pieces):
        newline = piece.find(b"\n")
        if index % 3 == 2 and newline != -1:
            # Rotated while no tail runs, at a line boundary (as a daemon does).
            with open(path, "ab") as handle:
                handle.write(piece[: newline + 1])
            os.rename(path, tmp_path / f"auth.log.{index}")
            path.write_bytes(piece[newline + 1 :])
        else:
            with open(path, "ab") as handle:
                handle.write(piece)
        written += len(piece)
        await tail_until(path, state, original.rfind(b"\n", 0, written) + 1, got)
    assert events_of(got) == expected
    assert b"".join(got) == original
