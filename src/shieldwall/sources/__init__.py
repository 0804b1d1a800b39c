"""Stage 1 of the flow: log sources produce chunks of complete lines.

A chunk is ``bytes`` ending with ``b"\\n"`` (it may hold many lines), consumed by
``EventStream.feed``. Lines longer than 64 KiB are cut (and counted); CRLF and
invalid UTF-8 pass through untouched.

Live sources are small classes behind the narrow :class:`Source` protocol,
listed in one dict, :data:`SOURCES` (kind -> factory), built from a
:class:`SourceSpec` (the same type ``agent.toml``'s ``[[sources]]`` tables are
read into). Each factory imports its
module only when used, so ``shieldwall replay`` (which reads whole files with
:func:`shieldwall.sources.replay.iter_file_chunks`) never loads inotify or
asyncio subprocess code.

========  ==========================================  ===========================
kind      what                                        resumes from
========  ==========================================  ===========================
file      ``tail -F`` on inotify (sources/tail.py)    (device, inode, offset, hash)
journald  ``journalctl --follow -o json``, trusted    journal cursor
          fields only (sources/journald.py)
stdin     standard input, to its end                  (nothing: a stream)
========  ==========================================  ===========================
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

import msgspec

from shieldwall.config import Section
from shieldwall.errors import ConfigError
from shieldwall.sources.lines import LineStats

if TYPE_CHECKING:
    from shieldwall.sources.state import PositionStore


class Source(Protocol):
    """What the agent needs from a live source."""

    kind: str

    @property
    def name(self) -> str:
        """How the source is named in logs and messages (e.g. ``file:/var/log/auth.log``)."""
        ...

    def chunks(self) -> AsyncGenerator[bytes, None]:
        """Chunks of complete lines; a chunk's position is committed when the next is asked."""
        ...

    def commit(self) -> None:
        """Mark the chunks handed out so far as handled (before stopping after one)."""
        ...


SourceKind = Literal["file", "journald", "stdin"]


class SourceSpec(Section, frozen=True):
    """One configured log source: an ``agent.toml`` ``[[sources]]`` table, and what
    :func:`make_source` builds. ``pack`` names the pattern pack that reads it."""

    kind: SourceKind = "file"
    pack: str = ""
    #: file: the log file, followed like ``tail -F``.
    path: str = ""
    #: journald: entries of these units or commands (trusted fields only) ...
    units: tuple[str, ...] = ()
    comms: tuple[str, ...] = ()
    #: ... or a selector of ``journal_entry.SELECTORS`` when neither is given.
    selector: str = "sshd"
    #: journald: a journal namespace (``journalctl --namespace``).
    namespace: str | None = None
    #: Without a saved position, read what is already there instead of starting at the end.
    from_start: bool = False
    #: The server's MaxAuthTries (sshd): what a connection that ran out of attempts stands for.
    max_auth_tries: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 6

    @property
    def label(self) -> str:
        """A stable name for positions and logs."""
        if self.kind == "file":
            return f"file:{self.path}"
        if self.kind == "journald":
            return "journald:" + ",".join(self.units or self.comms or (self.selector,))
        return "stdin"


def _file(spec: SourceSpec, state: PositionStore, stats: LineStats) -> Source:
    from shieldwall.sources.tail import TailSource, TailStats

    if not spec.path:
        raise ConfigError("a source of kind 'file' needs a path, e.g. path = '/var/log/auth.log'")
    return TailSource(
        spec.path, state, from_start=spec.from_start, stats=TailStats(lines=stats)
    )


def _journald(spec: SourceSpec, state: PositionStore, stats: LineStats) -> Source:
    from shieldwall.sources.journal_entry import SELECTORS
    from shieldwall.sources.journald import JournaldSource

    if spec.units or spec.comms:
        return JournaldSource(
            state, units=spec.units, comms=spec.comms, namespace=spec.namespace,
            from_start=spec.from_start, stats=stats,
        )
    selector = SELECTORS.get(spec.selector)
    if selector is None:
        raise ConfigError(
            f"journald selector {spec.selector!r} is unknown; use one of {sorted(SELECTORS)}"
        )
    return JournaldSource(
        state, selector=selector, namespace=spec.namespace,
        from_start=spec.from_start, stats=stats,
    )


def _stdin(spec: SourceSpec, state: PositionStore, stats: LineStats) -> Source:
    from shieldwall.sources.stdin import StdinSource

    return StdinSource(stats=stats)


#: Every kind of live source: the one registry the agent builds its sources from.
SOURCES: dict[str, Callable[[SourceSpec, PositionStore, LineStats], Source]] = {
    "file": _file,
    "journald": _journald,
    "stdin": _stdin,
}


def make_source(
    spec: SourceSpec, state: PositionStore, stats: LineStats | None = None
) -> Source:
    """The source ``spec`` describes; ConfigError for an unknown kind."""
    factory = SOURCES.get(spec.kind)
    if factory is None:
        raise ConfigError(f"source kind {spec.kind!r} is unknown; use one of {sorted(SOURCES)}")
    return factory(spec, state, stats if stats is not None else LineStats())
