"""Speed of the log sources: replay reading, tail catch-up, and tail latency.

Builds an N-line sshd log (default 1,000,000) by repeating
``shared/data/loghub/OpenSSH_2k.log`` in a temporary directory, then prints:

* lines per CPU-second of ``iter_file_chunks`` on the plain file and on a gzip copy
  (the sources' share of ``shieldwall replay``: reading + line assembly);
* the same for ``LineAssembler`` alone, fed 64 KiB pieces already in memory;
* lines per CPU-second of ``TailSource`` catching up on the file from offset 0;
* the delay between appending one line and ``TailSource`` yielding it (inotify
  in the event loop; the writer is the same process, so no scheduling between
  processes is counted), median and 99th percentile of ``--appends`` appends.

A benchmark prints; it never asserts.

Example::

    python3 bench/sources_bench.py
    python3 bench/sources_bench.py --lines 200000 --appends 200
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from pathlib import Path

from shieldwall.sources.lines import LineAssembler
from shieldwall.sources.replay import iter_file_chunks
from shieldwall.sources.state import PositionStore
from shieldwall.sources.tail import TailSource

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub" / "OpenSSH_2k.log"


def build(path: Path, lines: int) -> int:
    sample = SAMPLE.read_bytes()
    if not sample.endswith(b"\n"):
        sample += b"\n"
    per_copy = sample.count(b"\n")
    copies, rest = divmod(lines, per_copy)
    with open(path, "wb") as handle:
        for _ in range(copies):
            handle.write(sample)
        handle.write(b"".join(sample.splitlines(keepends=True)[:rest]))
    return lines


def cpu() -> float:
    return time.process_time()


def replay_rate(path: Path, lines: int) -> tuple[float, int]:
    start = cpu()
    seen = sum(chunk.count(b"\n") for chunk in iter_file_chunks(path))
    return lines / (cpu() - start), seen


def assembler_rate(data: bytes, lines: int) -> float:
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assembler = LineAssembler()
    feed = assembler.feed
    start = cpu()
    for piece in pieces:
        feed(piece)
    assembler.flush()
    return lines / (cpu() - start)


async def tail_catch_up(path: Path, lines: int) -> float:
    source = TailSource(path, PositionStore(), from_start=True)
    seen = 0
    start = cpu()
    chunks = source.chunks()
    async for chunk in chunks:
        seen += chunk.count(b"\n")
        if seen >= lines:
            break
    elapsed = cpu() - start
    await chunks.aclose()
    return lines / elapsed


async def tail_latency(directory: Path, appends: int) -> list[float]:
    path = directory / "latency.log"
    path.write_bytes(b"")
    source = TailSource(path, PositionStore())
    delays: list[float] = []
    chunks = source.chunks()
    waiter = asyncio.ensure_future(source.watching.wait())
    reader = asyncio.ensure_future(chunks.__anext__())
    await waiter
    with open(path, "ab", buffering=0) as writer:
        for i in range(appends):
            sent = time.perf_counter()
            writer.write(b"Nov 29 02:21:44 host sshd[7]: latency %d\n" % i)
            await reader
            delays.append(time.perf_counter() - sent)
            reader = asyncio.ensure_future(chunks.__anext__())
    reader.cancel()
    await chunks.aclose()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp:
        directory = Path(tmp)
        plain = directory / "auth.log"
        lines = build(plain, args.lines)
        data = plain.read_bytes()
        packed = directory / "auth.log.gz"
        packed.write_bytes(gzip.compress(data, compresslevel=6))
        print(f"{lines:,} lines, {len(data) / 1e6:.1f} MB ({SAMPLE.name} repeated)")
        rate, seen = replay_rate(plain, lines)
        print(f"iter_file_chunks, plain file : {rate:>14,.0f} lines/CPU-s  ({seen:,} lines)")
        rate, seen = replay_rate(packed, lines)
        print(f"iter_file_chunks, gzip file  : {rate:>14,.0f} lines/CPU-s  ({seen:,} lines)")
        print(f"LineAssembler, 64 KiB pieces : {assembler_rate(data, lines):>14,.0f} lines/CPU-s")
        rate = asyncio.run(tail_catch_up(plain, lines))
        print(f"TailSource catching up       : {rate:>14,.0f} lines/CPU-s")
        delays = sorted(asyncio.run(tail_latency(directory, args.appends)))
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"TailSource append->yield     : median {statistics.median(delays) * 1e3:.3f} ms, "
            f"p99 {p99 * 1e3:.3f} ms ({len(delays)} appends, inotify)"
        )


if __name__ == "__main__":
    main()
