"""Follow a log file by name, like ``tail -F``, driven by inotify.

``async for chunk in TailSource(path, store).chunks()`` yields chunks of complete
lines as the file grows. The *directory* is watched (not only the file), so a file
that does not exist yet, is renamed away or is replaced is noticed at once; a
long safety timeout re-checks everything in case an event was lost (e.g. on a
network file system), but polling is never the mechanism.

What happens when:

- **The file appears later** (or we start before it exists): it is read from 0.
- **Rotation by rename** (``auth.log`` -> ``auth.log.1``, new ``auth.log``): the
  old file stays open and is read to its end; we read the new file from 0. The
  old file is kept open, and read first on every wake-up, until the new file gets
  its first bytes -- the sign that the writer has reopened (logrotate renames,
  creates, *then* signals the daemon, which may write to the old file meanwhile).
  Then its unterminated last line, if any, is completed and it is closed.
- **copytruncate** (same inode, size below what we have read): restart at 0;
  an unfinished line we held is dropped (its bytes are gone from the file).
- **Unterminated last line**: held until its newline arrives.
- **Restart**: after the consumer takes a chunk (asks for the next one), the
  position just after its last line -- (device, inode, offset, hash of the bytes
  before the offset) -- goes to the :class:`PositionStore`, which is saved when we
  are caught up and when the source stops. On start:

  * same inode, file at least as long, same bytes before the offset: resume there;
  * same inode but shorter or different bytes (truncated, or the inode number
    was reused by a new file): read it from 0;
  * different inode (rotated while we were down): look in the directory for a
    file with the saved device and inode whose bytes match (``auth.log.1``,
    ``auth.log-20241201``...), read it from the saved offset to its end, then
    the current file from 0. If it cannot be found (compressed or deleted), the
    rest of that old file is lost: :attr:`TailStats.resume_gaps` counts it and a
    warning is logged; the current file is read from 0.
  * no saved position: start at the end of the file (after its last complete
    line), or at 0 with ``from_start=True``.

  Lines are never skipped. A line can be seen twice only if the process dies
  between the consumer handling a chunk and the next save (at most what was read
  since we were last caught up); a clean stop (cancellation, ``aclose``) saves.
- **A symlink** to a file in another directory: that directory is watched too.
- **Known limits**: a file truncated and regrown past our offset between two
  wake-ups is not noticed as truncated; lines written to an old file after the
  new one got data are not read; if the file is rotated twice before the writer
  writes to the middle one, that middle file's unterminated last line is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from inotify_simple import INotify
from inotify_simple import flags as in_flags

from shieldwall.errors import SourceError
from shieldwall.sources.lines import LineAssembler, LineStats
from shieldwall.sources.state import FilePosition, PositionStore, read_check

log = logging.getLogger(__name__)

#: Bytes read per call while catching up.
READ_SIZE = 1024 * 1024
#: Seconds after which everything is re-checked even without an inotify event.
SAFETY_TIMEOUT = 30.0
#: Save positions at least every this many chunks while catching up on a busy file.
SAVE_EVERY = 64

_WATCH = (
    in_flags.MODIFY
    | in_flags.CREATE
    | in_flags.MOVED_TO
    | in_flags.MOVED_FROM
    | in_flags.DELETE
    | in_flags.ATTRIB
    | in_flags.CLOSE_WRITE
    | in_flags.DELETE_SELF
    | in_flags.MOVE_SELF
)
_GONE = in_flags.DELETE_SELF | in_flags.MOVE_SELF | in_flags.IGNORED | in_flags.UNMOUNT


@dataclass
class TailStats:
    """What a tail has seen."""

    lines: LineStats = field(default_factory=LineStats)
    rotations: int = 0
    truncations: int = 0
    #: Starts that resumed from a saved position (in the file or a rotated one).
    resumed: int = 0
    #: Starts where the rotated file holding the rest of our lines was not found.
    resume_gaps: int = 0


class _Follow:
    """One open file being read."""

    __slots__ = ("assembler", "device", "fd", "inode", "name", "taken")

    def __init__(self, name: str, fd: int, offset: int, stats: LineStats) -> None:
        st = os.fstat(fd)
        self.name = name
        self.fd = fd
        self.device = st.st_dev
        self.inode = st.st_ino
        os.lseek(fd, offset, os.SEEK_SET)
        self.assembler = LineAssembler(offset=offset, stats=stats)
        #: Offset just after the last line the consumer has taken.
        self.taken = offset

    @property
    def read_to(self) -> int:
        """Offset just after the last byte read."""
        return self.assembler.offset + self.assembler.pending

    def position(self) -> FilePosition:
        """Where a restart must resume in this file."""
        offset = self.taken
        return FilePosition(self.device, self.inode, offset, read_check(self.fd, offset))

    def restart(self, offset: int, *, mid_line: bool = False) -> None:
        """Read again from ``offset``; ``mid_line``: drop bytes up to the next newline."""
        os.lseek(self.fd, offset, os.SEEK_SET)
        self.assembler.reset(offset)
        if mid_line:
            self.assembler.skip_line()
        self.taken = offset

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _open(path: str, offset: int, stats: LineStats) -> _Follow | None:
    """``path`` opened at ``offset``; None if it does not exist (any more)."""
    try:
        # O_NONBLOCK: opening a FIFO put in the log's place must not hang the loop.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except PermissionError:
        raise SourceError(
            f"{path}: permission denied; run the agent as a user that can read it "
            f"(e.g. a member of group adm)"
        ) from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceError(
            f"{path}: not a regular file; follow log files (use the stdin source for a pipe)"
        )
    return _Follow(path, fd, offset, stats)


def _end_of_last_line(fd: int, size: int) -> int | None:
    """Offset just after the last newline in the final 64 KiB before ``size``.

    0 for a small file without a newline; None when the last 64 KiB hold no
    newline (we are inside an over-long line: start at ``size`` mid-line).
    """
    start = max(0, size - 65536)
    newline = os.pread(fd, size - start, start).rfind(b"\n")
    if newline == -1:
        return 0 if start == 0 else None
    return start + newline + 1


class TailSource:
    """Complete-line chunks of the file at ``path``, followed across rotations."""

    kind = "file"

    def __init__(
        self,
        path: str | os.PathLike[str],
        state: PositionStore,
        *,
        from_start: bool = False,
        read_size: int = READ_SIZE,
        safety_timeout: float = SAFETY_TIMEOUT,
        stats: TailStats | None = None,
    ) -> None:
        self.path = Path(os.path.abspath(path))
        self.key = str(self.path)
        self.state = state
        self.from_start = from_start
        self.read_size = read_size
        self.safety_timeout = safety_timeout
        self.stats = stats if stats is not None else TailStats()
        self._current: _Follow | None = None
        self._old: _Follow | None = None
        self._retire_pending = False
        self._names = {self.path.name}
        #: The last chunk's file and end offset, until the consumer is done with it.
        self._handed: tuple[_Follow | None, int] | None = None
        #: Set once the directory is watched and the start position chosen.
        self.watching = asyncio.Event()

    @property
    def name(self) -> str:
        """How this source is named in logs and messages."""
        return f"file:{self.key}"

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Chunks of complete lines, forever (until cancelled or closed).

        The position after a chunk is committed when the next one is asked for
        (or by :meth:`commit`). Use ``contextlib.aclosing`` when breaking out of
        the loop, so that the files are closed and the positions saved at once.
        """
        directory = str(self.path.parent)
        real = os.path.realpath(self.path)
        self._names = {self.path.name, os.path.basename(real)}
        if not os.path.isdir(directory):
            raise SourceError(
                f"{directory}: no such directory; create it or fix the path of {self.path.name}"
            )
        inotify = INotify(nonblocking=True)
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        try:
            try:
                inotify.add_watch(directory, _WATCH)
                if os.path.dirname(real) != directory and os.path.isdir(os.path.dirname(real)):
                    # A symlink to a file elsewhere: its writes happen in that directory.
                    inotify.add_watch(os.path.dirname(real), _WATCH)
            except OSError as exc:
                hint = (
                    "raise fs.inotify.max_user_watches"
                    if exc.errno == errno.ENOSPC
                    else "check the directory's permissions"
                )
                raise SourceError(f"{directory}: cannot watch: {exc.strerror}; {hint}") from None
            loop.add_reader(inotify.fileno(), wake.set)
            self._start()
            self.watching.set()
            since_save = 0
            while True:
                wake.clear()
                for chunk, follow, offset in self._read_all():
                    self._handed = (follow, offset)
                    yield chunk
                    self.commit()
                    since_save += 1
                    if since_save >= SAVE_EVERY:
                        self.state.save()
                        since_save = 0
                self.state.save()
                since_save = 0
                await self._wait(wake, inotify)
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(inotify.fileno())
            inotify.close()
            for follow in (self._old, self._current):
                if follow is not None:
                    follow.close()
            self._old = self._current = None
            self._handed = None
            self.watching.clear()
            self.state.save()

    async def _wait(self, wake: asyncio.Event, inotify: INotify) -> None:
        """Sleep until an event about our files arrives, or the safety timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.safety_timeout
        while True:
            # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation
            # that arrives as the event is set, and the source would never stop.
            timer = loop.call_at(deadline, wake.set)
            try:
                await wake.wait()
            finally:
                timer.cancel()
            wake.clear()
            if self._relevant(inotify):
                return
            if loop.time() >= deadline:
                self._retire_idle_old()
                return

    # -- start ---------------------------------------------------------------

    def _start(self) -> None:
        saved = self.state.file(self.key)
        lines = self.stats.lines
        current = _open(self.key, 0, lines)
        self._current = current
        if saved is None:
            if current is not None and not self.from_start:
                size = os.fstat(current.fd).st_size
                start = _end_of_last_line(current.fd, size)
                if start is None:
                    current.restart(size, mid_line=True)
                else:
                    current.restart(start)
            return
        if current is not None and (current.device, current.inode) == (saved.device, saved.inode):
            if _matches(current.fd, saved):
                current.restart(saved.offset)
                self.stats.resumed += 1
            else:
                log.warning("%s: truncated or replaced while stopped; reading from 0", self.key)
                self.stats.truncations += 1
            return
        rotated = self._find_rotated(saved)
        if rotated is None:
            self.stats.resume_gaps += 1
            log.warning(
                "%s: rotated while stopped and the old file (inode %d) is gone; lines "
                "after offset %d of it were not read",
                self.key, saved.inode, saved.offset,
            )
            return
        self._old = rotated
        self.stats.resumed += 1
        self.stats.rotations += 1

    def _find_rotated(self, saved: FilePosition) -> _Follow | None:
        """The file in our directory with the saved identity and content, opened at its offset."""
        base = self.path.name
        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return None
        for entry in entries:
            if entry.name == base or not entry.name.startswith(base) or entry.inode() != saved.inode:
                continue
            follow = _open(entry.path, 0, self.stats.lines)
            if follow is None:
                continue
            if follow.device == saved.device and follow.inode == saved.inode and _matches(
                follow.fd, saved
            ):
                follow.restart(saved.offset)
                return follow
            follow.close()
        return None

    # -- reading -------------------------------------------------------------

    def _read_all(self) -> Iterator[tuple[bytes, _Follow | None, int]]:
        """Chunks of every open file, then of any new file at our path, until all are at EOF.

        Each chunk comes with its file and the offset after its last line, which
        become the file's ``taken`` offset once the consumer has taken it.
        """
        while True:
            if self._old is not None:
                if self._retire_pending:
                    yield from self._retire_old()
                else:
                    yield from self._read(self._old)
            current = self._current
            if current is not None:
                first = True
                for item in self._read(current):
                    if first and self._old is not None:
                        # The writer has moved to the new file: finish the old one.
                        yield from self._retire_old()
                    first = False
                    yield item
            if not self._check_path():
                return

    def _read(self, follow: _Follow) -> Iterator[tuple[bytes, _Follow | None, int]]:
        read, fd, size = os.read, follow.fd, self.read_size
        feed = follow.assembler.feed
        while True:
            try:
                data = read(fd, size)
            except OSError as exc:
                raise SourceError(f"{follow.name}: cannot read: {exc.strerror}") from None
            if not data:
                return
            out = feed(data)
            if out:
                yield out, follow, follow.assembler.offset

    def _retire_old(self) -> Iterator[tuple[bytes, _Follow | None, int]]:
        old = self._old
        if old is None:
            return
        yield from self._read(old)
        last = old.assembler.flush()
        self._old = None
        self._retire_pending = False
        old.close()
        if last:
            yield last, None, 0

    def _retire_idle_old(self) -> None:
        """A long quiet spell: the writer is not coming back to the old file."""
        if self._old is not None and self._current is not None:
            self._retire_pending = True

    def _check_path(self) -> bool:
        """Notice a new file at our path or a truncation; True if there is more to read."""
        try:
            st = os.stat(self.key)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise SourceError(f"{self.key}: cannot stat: {exc.strerror}") from None
        current = self._current
        if current is None:
            self._current = _open(self.key, 0, self.stats.lines)
            return self._current is not None
        if (st.st_dev, st.st_ino) != (current.device, current.inode):
            if self._old is not None:
                # Rotated twice before the writer wrote to the middle file (which was
                # read to its end just before): only its unterminated line is lost.
                self._old.close()
            self._old = current
            self._current = _open(self.key, 0, self.stats.lines)
            self.stats.rotations += 1
            return True
        if st.st_size < current.read_to:
            log.info("%s: truncated (copytruncate?); reading from 0", self.key)
            current.restart(0)
            self.stats.truncations += 1
            return True
        return False

    def commit(self) -> None:
        """Mark every chunk handed out so far as handled.

        Called for you when the next chunk is asked for. A consumer that stops
        right after handling a chunk (``break``) calls it first, or that chunk is
        read again after a restart.
        """
        handed = self._handed
        if handed is None:
            return
        self._handed = None
        follow, offset = handed
        if follow is not None:
            follow.taken = offset
        target = self._old if self._old is not None else self._current
        if target is not None:
            self.state.set_file(self.key, target.position())

    def _relevant(self, inotify: INotify) -> bool:
        """Whether the events waiting concern our file (or the old one we still read)."""
        names = self._names
        relevant = False
        for event in inotify.read(timeout=0):
            if event.mask & _GONE and not event.name:
                raise SourceError(
                    f"{self.path.parent}: the directory was removed or moved; fix the path "
                    f"of {self.path.name} (the source will be restarted)"
                )
            if event.mask & in_flags.Q_OVERFLOW or event.name in names or self._old is not None:
                relevant = True
        return relevant


def _matches(fd: int, saved: FilePosition) -> bool:
    """Whether the open file holds the bytes we had read up to ``saved.offset``."""
    try:
        size = os.fstat(fd).st_size
        if size < saved.offset:
            return False
        return not saved.check or read_check(fd, saved.offset) == saved.check
    except OSError:
        return False
