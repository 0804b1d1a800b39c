"""Where each source left off, persisted so that a restart resumes exactly.

Files are remembered as (device, inode, offset, check): ``offset`` is just after
the last complete line the consumer took, and ``check`` is a short hash of the
bytes before it, so a file that was replaced or truncated and regrown while we
were down (same inode number, different content: inode numbers are reused) is
not mistaken for the one we were reading. journald is remembered by its cursor.

The store is a small JSON file rewritten atomically (temporary file, fsync,
rename, fsync of the directory): after a crash it holds either the old or the
new positions, never a torn mix. Sources update positions in memory after the
consumer has taken a chunk; :meth:`PositionStore.save` writes them, and sources
call it when they are caught up and when they stop.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec

from shieldwall.errors import SourceError

#: Bytes before the offset that the check hash covers.
CHECK_BYTES = 64


class FilePosition(msgspec.Struct, frozen=True):
    """A position in one file, tied to its identity and content."""

    device: int
    inode: int
    offset: int
    check: str = ""


class _Document(msgspec.Struct):
    version: int = 1
    files: dict[str, FilePosition] = msgspec.field(default_factory=dict)
    cursors: dict[str, str] = msgspec.field(default_factory=dict)


def content_check(before_offset: bytes) -> str:
    """The check of the (up to :data:`CHECK_BYTES`) bytes just before an offset."""
    return hashlib.blake2b(before_offset[-CHECK_BYTES:], digest_size=8).hexdigest()


def read_check(fd: int, offset: int) -> str:
    """:func:`content_check` of the bytes before ``offset`` in the open file ``fd``."""
    start = max(0, offset - CHECK_BYTES)
    return content_check(os.pread(fd, offset - start, start))


class PositionStore:
    """Positions of every source of an agent; ``path=None`` keeps them in memory only."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._doc = _Document()
        self.dirty = False
        self.saves = 0

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PositionStore:
        """The store at ``path``; an absent file is an empty store."""
        store = cls(path)
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            return store
        except OSError as exc:
            raise SourceError(f"{path}: cannot read source positions: {exc.strerror}") from None
        try:
            store._doc = msgspec.json.decode(raw, type=_Document)
        except msgspec.DecodeError as exc:
            raise SourceError(
                f"{path}: source positions are unreadable ({exc}); delete the file to "
                f"start again (sources then begin at the end of each log)"
            ) from None
        return store

    def file(self, key: str) -> FilePosition | None:
        """Where the file source ``key`` (its path) left off."""
        return self._doc.files.get(key)

    def set_file(self, key: str, position: FilePosition) -> None:
        """Remember ``position`` for ``key`` (written by the next :meth:`save`)."""
        if self._doc.files.get(key) != position:
            self._doc.files[key] = position
            self.dirty = True

    def cursor(self, key: str) -> str | None:
        """The journal cursor of the source ``key``."""
        return self._doc.cursors.get(key)

    def set_cursor(self, key: str, cursor: str) -> None:
        """Remember ``cursor`` for ``key`` (written by the next :meth:`save`)."""
        if self._doc.cursors.get(key) != cursor:
            self._doc.cursors[key] = cursor
            self.dirty = True

    def save(self) -> None:
        """Write the positions atomically if they changed since the last save."""
        if not self.dirty or self.path is None:
            return
        data = msgspec.json.encode(self._doc)
        target = self.path
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise SourceError(
                f"{target}: cannot save source positions: {exc.strerror}; check that "
                f"{target.parent} exists and is writable"
            ) from None
        self.dirty = False
        self.saves += 1
