"""Turn arbitrary byte chunks into chunks of complete lines.

Every source (replayed file, tailed file, stdin, journald) reads bytes in blocks
whose boundaries fall anywhere. :class:`LineAssembler` holds back the unfinished
last line, cuts over-long lines and returns *chunks of complete lines*: bytes that
end with ``b"\\n"``, ready for ``EventStream.feed``.

It is on the replay hot path (a million lines per CPU-second), so it works on
whole chunks with ``rfind``/``find`` and never loops over lines in Python. The
only loop steps through a chunk in windows of ``max_line`` bytes to prove that no
line is over-long; with short lines that is one ``rfind`` per 64 KiB.

Rules:

- A line longer than ``max_line`` bytes (newline excluded) keeps its first
  ``max_line`` bytes; the rest is dropped and :attr:`LineStats.lines_cut` counts
  it. The cut line is only emitted when its newline arrives, so :attr:`offset`
  never points into the middle of a line: a restart that resumes there can never
  read the tail of a long line as if it were a line of its own (an attacker who
  controls part of a long line would otherwise forge a line start).
- Bytes are passed through untouched: CRLF endings and invalid UTF-8 included.
- :attr:`LineAssembler.offset` is the source offset just after the last complete
  line returned; that is where a restart resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Longest line kept whole, newline excluded.
MAX_LINE = 64 * 1024


@dataclass
class LineStats:
    """Counters shared by the assemblers of one source (or of one replay run)."""

    #: Lines longer than the limit, cut to it.
    lines_cut: int = 0
    #: Unterminated last lines completed at end of input (see :meth:`LineAssembler.flush`).
    lines_flushed: int = 0


class LineAssembler:
    """Complete-line chunks from arbitrary byte chunks of one stream.

    ``offset`` is the stream offset where the first chunk fed starts (non-zero
    when resuming a file); ``stats`` may be shared between assemblers.
    """

    __slots__ = ("_cutting", "_held", "_partial", "_position", "_skipping", "max_line", "stats")

    def __init__(
        self, *, offset: int = 0, max_line: int = MAX_LINE, stats: LineStats | None = None
    ) -> None:
        if max_line < 1:
            raise ValueError("max_line must be positive")
        self.max_line = max_line
        self.stats = stats if stats is not None else LineStats()
        self._position = offset  # stream offset just after the last byte fed
        self._partial = 0  # stream bytes fed since the last newline
        self._held = b""  # kept bytes of the unfinished line (at most max_line)
        self._cutting = False  # the unfinished line is already over-long
        self._skipping = False  # drop the unfinished line: we started inside it

    @property
    def offset(self) -> int:
        """Stream offset just after the last complete line returned."""
        return self._position - self._partial

    @property
    def pending(self) -> int:
        """Stream bytes of the unfinished line held back (or dropped, if cut)."""
        return self._partial

    def reset(self, offset: int = 0) -> None:
        """Forget the unfinished line and start again at ``offset`` (truncation, new file)."""
        self._position = offset
        self._partial = 0
        self._held = b""
        self._cutting = False
        self._skipping = False

    def skip_line(self) -> None:
        """Drop bytes up to the next newline: the stream starts inside a line."""
        self._held = b""
        self._cutting = True
        self._skipping = True

    def feed(self, data: bytes) -> bytes:
        """The complete lines that ``data`` finishes, or ``b""``; holds back the rest."""
        if not data:
            return b""
        self._position += len(data)
        last = data.rfind(b"\n")
        if last == -1:
            self._partial += len(data)
            if not self._cutting:
                held = self._held + data
                if len(held) > self.max_line:
                    held = held[: self.max_line]
                    self._cutting = True
                self._held = held
            return b""
        self._partial = len(data) - last - 1
        if self._held or self._cutting:
            first = data.find(b"\n")
            if not self._cutting and len(self._held) + first <= self.max_line:
                # The usual case (a read ends inside a line): one copy of the whole
                # chunk, not a slice of it and then that slice again behind the start.
                return self._keep_tail(
                    data, last, self._complete(b"".join((self._held, memoryview(data)[: last + 1])))
                )
            rest = self._complete(data[first + 1 : last + 1])
            if self._skipping:
                self._skipping = False
                out = rest
            elif self._cutting:
                out = self._held + b"\n" + rest
                self.stats.lines_cut += 1
            else:
                line = self._held + data[:first]
                if len(line) > self.max_line:
                    line = line[: self.max_line]
                    self.stats.lines_cut += 1
                out = line + b"\n" + rest
        else:
            out = self._complete(data if last == len(data) - 1 else data[: last + 1])
        return self._keep_tail(data, last, out)

    def _keep_tail(self, data: bytes, last: int, out: bytes) -> bytes:
        """Hold what follows ``data``'s last newline (at ``last``); returns ``out``."""
        tail = data[last + 1 :]
        if len(tail) > self.max_line:
            self._held = tail[: self.max_line]
            self._cutting = True
        else:
            self._held = tail
            self._cutting = False
        return out

    def flush(self) -> bytes:
        """End of input: the unfinished line, completed with a newline (or ``b""``)."""
        if not self._partial:
            return b""
        line = self._held
        skipped = self._skipping
        if self._cutting and not skipped:
            self.stats.lines_cut += 1
        self._partial = 0
        self._held = b""
        self._cutting = self._skipping = False
        if skipped:
            return b""
        self.stats.lines_flushed += 1
        return line + b"\n"

    def _complete(self, body: bytes) -> bytes:
        """``body`` (complete lines only) with every over-long line cut."""
        limit = self.max_line
        size = len(body)
        # Any window of limit+1 bytes starting at a line start must hold a newline;
        # jumping to the last newline of each window visits ~size/limit windows.
        start = kept = 0
        pieces: list[bytes] | None = None
        while size - start > limit:
            newline = body.rfind(b"\n", start, start + limit + 1)
            if newline != -1:
                start = newline + 1
                continue
            # The line at ``start`` is over-long; ``body`` ends with a newline.
            end = body.find(b"\n", start + limit)
            if pieces is None:
                pieces = []
            pieces.append(body[kept:start])
            pieces.append(body[start : start + limit] + b"\n")
            self.stats.lines_cut += 1
            start = kept = end + 1
        if pieces is None:
            return body
        pieces.append(body[kept:])
        return b"".join(pieces)
