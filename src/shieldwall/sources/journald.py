"""Follow the systemd journal through ``journalctl --follow -o json``.

journalctl runs as a subprocess from an argv list (never a shell), selecting the
trusted entries with journal matches; every entry is checked again, and
converted, by :mod:`shieldwall.sources.journal_entry` (the pure half, tested on
recorded output). ``-o json`` rather than the faster ``-o cat``: only JSON
carries ``_COMM``/``_UID``, without which a ``logger -t sshd`` by any local user
would pass for sshd.

Resume: after the consumer takes a chunk, the cursor of the last entry read
goes to the :class:`PositionStore`; the next start passes ``--after-cursor``. If
journalctl rejects the saved cursor (journal vacuumed or from another machine),
the source warns and follows from the end of the journal instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from shieldwall.errors import SourceError
from shieldwall.sources.journal_entry import (
    SSHD,
    ConversionStats,
    JournalConverter,
    JournalSelector,
    journalctl_argv,
    selector_for,
)
from shieldwall.sources.lines import LineAssembler, LineStats
from shieldwall.sources.state import PositionStore

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
#: A JSON entry may carry a 64 KiB binary MESSAGE as numbers: ~4 bytes per byte.
MAX_JSON_LINE = 1024 * 1024
SAVE_EVERY = 64
_STDERR_KEPT = 4096


def journal_socket(namespace: str | None = None) -> str:
    """Where journald listens (the sign that a journal exists here)."""
    suffix = f".{namespace}" if namespace else ""
    return f"/run/systemd/journal{suffix}/socket"


class JournaldSource:
    """Complete syslog-like lines of the trusted journal entries, forever."""

    kind = "journald"

    def __init__(
        self,
        state: PositionStore,
        *,
        selector: JournalSelector | None = None,
        comms: Sequence[str] = (),
        units: Sequence[str] = (),
        uids: Sequence[str] | None = None,
        key: str | None = None,
        namespace: str | None = None,
        from_start: bool = False,
        journalctl: str = "journalctl",
        stats: LineStats | None = None,
    ) -> None:
        """Select entries with ``selector``, or build one from ``comms``/``units``/``uids``
        (see :func:`selector_for`); neither: sshd. ``key`` names the saved cursor
        (default ``journald:<units or comms>[@namespace]``)."""
        if selector is None:
            selector = selector_for(comms=comms, units=units, uids=uids) if (
                comms or units) else SSHD
        self.state = state
        self.selector = selector
        if key is None:
            key = f"journald:{selector.label}" + (f"@{namespace}" if namespace else "")
        self.key = key
        self.namespace = namespace
        self.from_start = from_start
        self.journalctl = journalctl
        self.lines = stats if stats is not None else LineStats()
        self.conversion = ConversionStats()
        #: Set once journalctl runs.
        self.watching = asyncio.Event()
        #: Cursor after the last chunk handed out, until the consumer is done with it.
        self._handed: str | None = None

    @property
    def name(self) -> str:
        """How this source is named in logs and messages."""
        return self.key

    def commit(self) -> None:
        """Mark every chunk handed out so far as handled (done for you on the next one).

        A consumer that stops right after handling a chunk calls it first, or
        that chunk is read again after a restart.
        """
        if self._handed is not None:
            self.state.set_cursor(self.key, self._handed)
            self._handed = None

    def check_available(self) -> str:
        """The journalctl path; SourceError with what to do where there is no journal."""
        path = shutil.which(self.journalctl)
        if path is None:
            raise SourceError(
                f"{self.journalctl}: not found, so the journal cannot be read; install "
                f"systemd, or read the log file instead (source kind 'file', e.g. "
                f"/var/log/auth.log)"
            )
        socket = journal_socket(self.namespace)
        if not os.path.exists(socket):
            raise SourceError(
                f"no systemd journal here ({socket} does not exist: journald is not "
                f"running, as in most containers); read the log file instead (source kind "
                f"'file', e.g. /var/log/auth.log)"
            )
        return path

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Chunks of complete lines; the cursor is committed when the next is asked for
        (or by :meth:`commit`)."""
        journalctl = self.check_available()
        cursor = self.state.cursor(self.key)
        converter = JournalConverter(self.selector, self.conversion, cursor)
        while True:
            argv = journalctl_argv(
                self.selector,
                cursor=converter.cursor,
                from_start=self.from_start,
                namespace=self.namespace,
                journalctl=journalctl,
            )
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stderr = bytearray()
            drain = asyncio.create_task(_keep_tail(proc.stderr, stderr))
            self.watching.set()
            produced = False
            try:
                async for chunk in self._convert(proc, converter):
                    produced = True
                    self._handed = converter.cursor
                    yield chunk
                    self.commit()
                code = await proc.wait()
                await drain
            finally:
                self._handed = None
                self.watching.clear()
                await _stop(proc)
                drain.cancel()
                self.state.save()
            message = bytes(stderr).decode("utf-8", "replace").strip()
            if not produced and converter.cursor and "cursor" in message.lower():
                log.warning(
                    "%s: journalctl rejected the saved cursor (%s); following without it",
                    self.key, message,
                )
                converter.cursor = None
                continue
            raise SourceError(
                f"journalctl exited with status {code}: {message or 'no message'}; "
                f"check that this user may read the journal (group systemd-journal or adm)"
            )

    async def _convert(
        self, proc: asyncio.subprocess.Process, converter: JournalConverter
    ) -> AsyncIterator[bytes]:
        if proc.stdout is None:
            raise SourceError("journalctl started without an output pipe")
        json_lines = LineAssembler(max_line=MAX_JSON_LINE, stats=LineStats())
        lines = LineAssembler(stats=self.lines)
        since_save = 0
        while True:
            data = await proc.stdout.read(READ_SIZE)
            if not data:
                return
            complete = json_lines.feed(data)
            if not complete:
                continue
            out = lines.feed(converter.convert(complete))
            if out:
                yield out
            elif converter.cursor is not None:
                # Only untrusted entries: still move past them.
                self.state.set_cursor(self.key, converter.cursor)
            since_save += 1
            if since_save >= SAVE_EVERY or len(data) < READ_SIZE:
                # Caught up (a short read) or busy for a while: persist.
                self.state.save()
                since_save = 0


async def _keep_tail(stream: asyncio.StreamReader | None, into: bytearray) -> None:
    """Log a pipe's lines as warnings and keep its last few KiB (a chatty child cannot block).

    journalctl keeps running when it may not read the system journal (it then
    shows only this user's entries and says so on stderr): that hint must reach
    the operator, not wait for an exit that never comes.
    """
    if stream is None:
        return
    while data := await stream.read(65536):
        for line in data.decode("utf-8", "replace").splitlines()[:20]:
            if line.strip():
                log.warning("journalctl: %s", line.strip()[:500])
        into += data
        del into[:-_STDERR_KEPT]


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """End our journalctl (by its own PID) and reap it."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), 5)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
