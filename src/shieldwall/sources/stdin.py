"""Standard input as a live source (``kind = "stdin"``): lines piped into the agent.

A pipe or terminal is read through the event loop (no thread left blocked in
``read`` when the source is cancelled); a regular file redirected to stdin is
read directly, since reading a file never waits. At end of input the last line
is completed and the source ends.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncGenerator

from shieldwall.errors import SourceError
from shieldwall.sources.lines import LineAssembler, LineStats

READ_SIZE = 1024 * 1024


class StdinSource:
    """Complete-line chunks of a file descriptor (standard input by default)."""

    kind = "stdin"

    def __init__(
        self, *, fd: int | None = None, read_size: int = READ_SIZE, stats: LineStats | None = None
    ) -> None:
        self.fd = fd
        self.read_size = read_size
        self.lines = stats if stats is not None else LineStats()

    @property
    def name(self) -> str:
        """How this source is named in logs and messages."""
        return "stdin" if self.fd is None else f"fd:{self.fd}"

    def commit(self) -> None:
        """Nothing to remember: a stream cannot be resumed."""

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Chunks of complete lines until end of input."""
        fd = sys.stdin.fileno() if self.fd is None else self.fd
        try:
            mode = os.fstat(fd).st_mode
        except OSError as exc:
            raise SourceError(f"{self.name}: cannot read standard input: {exc.strerror}") from None
        assembler = LineAssembler(stats=self.lines)
        if stat.S_ISREG(mode):
            while data := os.read(fd, self.read_size):
                if out := assembler.feed(data):
                    yield out
                    await asyncio.sleep(0)  # let others run between big chunks
        else:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=self.read_size)
            pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), pipe
            )
            try:
                while data := await reader.read(self.read_size):
                    if out := assembler.feed(data):
                        yield out
            finally:
                transport.close()
        if last := assembler.flush():
            yield last
