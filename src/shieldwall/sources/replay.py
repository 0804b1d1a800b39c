"""Whole inputs for ``shieldwall replay``: files (plain or compressed) and stdin.

:func:`iter_file_chunks` opens its input at once, so a missing or unreadable file
raises :class:`~shieldwall.errors.SourceError` before anything is read, then
returns an iterator of complete-line chunks (see :mod:`shieldwall.sources.lines`)
read :data:`READ_SIZE` bytes at a time. A last line without a newline is
completed at end of input. Compression is recognised from the first bytes, not the
name, so ``auth.log.2.gz`` and a renamed file both work.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import sys
import zlib
from collections.abc import Generator
from typing import BinaryIO

from shieldwall.errors import SourceError
from shieldwall.sources.lines import LineAssembler, LineStats

#: Bytes read per call: large enough to amortise per-chunk costs, small enough for cache
#: (and for replay's peak memory: each chunk is held in a few copies while it is read).
READ_SIZE = 1024 * 1024

#: ``path`` meaning standard input.
STDIN = "-"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)


def iter_file_chunks(
    path: str | os.PathLike[str],
    *,
    stats: LineStats | None = None,
    read_size: int = READ_SIZE,
) -> Generator[bytes, None, None]:
    """Complete-line chunks of the whole file at ``path`` (``"-"``: stdin).

    ``stats`` (optional, may be shared across files) counts lines cut at 64 KiB.
    Raises :class:`SourceError` at once if the input cannot be opened, and while
    iterating if it cannot be read (a damaged compressed file, for example).
    """
    if os.fspath(path) == STDIN:
        return iter_stdin_chunks(stats=stats, read_size=read_size)
    name = os.fspath(path)
    handle, raw = _open(name)
    return _chunks(handle, name, stats, read_size, also_close=raw)


def iter_stdin_chunks(
    *,
    stats: LineStats | None = None,
    read_size: int = READ_SIZE,
    stream: BinaryIO | None = None,
) -> Generator[bytes, None, None]:
    """Complete-line chunks of standard input (or of ``stream``), to its end."""
    handle = stream if stream is not None else sys.stdin.buffer
    return _chunks(handle, "standard input", stats, read_size, close=False)


def _open(name: str) -> tuple[BinaryIO, BinaryIO]:
    """(decompressed stream, underlying file); both must be closed."""
    try:
        raw: BinaryIO = open(name, "rb")  # noqa: SIM115 - closed by the chunk iterator
    except FileNotFoundError:
        raise SourceError(f"{name}: no such file; check the path") from None
    except IsADirectoryError:
        raise SourceError(f"{name} is a directory; give the log files inside it") from None
    except PermissionError:
        raise SourceError(
            f"{name}: permission denied; run as a user that can read it "
            f"(e.g. a member of group adm) or fix its mode"
        ) from None
    except OSError as exc:
        raise SourceError(f"{name}: cannot open: {exc.strerror or exc}") from None
    try:
        head = raw.peek(8)[:8]  # type: ignore[attr-defined]
    except OSError as exc:
        raw.close()
        raise SourceError(f"{name}: cannot read: {exc.strerror or exc}") from None
    stream: BinaryIO = raw
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "gzip":
                stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
            elif kind == "bzip2":
                stream = bz2.BZ2File(raw, "rb")  # type: ignore[assignment]
            else:
                stream = lzma.LZMAFile(raw, "rb")  # type: ignore[assignment]  # noqa: SIM115
            break
    return stream, raw


def _chunks(
    handle: BinaryIO,
    name: str,
    stats: LineStats | None,
    read_size: int,
    *,
    close: bool = True,
    also_close: BinaryIO | None = None,
) -> Generator[bytes, None, None]:
    assembler = LineAssembler(stats=stats)
    feed = assembler.feed
    read = handle.read
    try:
        while True:
            try:
                data = read(read_size)
            except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
                raise SourceError(
                    f"{name}: cannot read past byte {assembler.offset}: {exc}; "
                    f"the file may be damaged or truncated"
                ) from None
            if not data:
                break
            out = feed(data)
            if out:
                yield out
        last = assembler.flush()
        if last:
            yield last
    finally:
        if close:
            handle.close()
        if also_close is not None:
            also_close.close()
