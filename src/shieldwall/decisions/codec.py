"""Wire formats of the decision log: SSE frames, pages and cursors. Pure.

A stream is a sequence of Server-Sent Events frames::

    retry: 2000

    id: 42
    event: decision
    data: {"cursor":42,"action":"block",...}

    event: heartbeat
    data: {"head":42}

The SSE ``id`` is the decision's cursor, so a reconnecting client's
``Last-Event-ID`` header is exactly the cursor to resume after.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from shieldwall.decisions.decision import Decision, encode_decision
from shieldwall.signals.bounds import Cursor

MAX_CURSOR = 2**63 - 1


class DecisionPage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One page of the log: decisions after a cursor, and where to continue."""

    decisions: tuple[Decision, ...]
    #: The cursor to ask for next (the last decision's, or the one asked for).
    next: Cursor
    #: True when more decisions follow right away.
    more: bool
    #: The highest cursor in the log when the page was read.
    head: Cursor


def encode_page(page: DecisionPage) -> bytes:
    """JSON bytes of a page."""
    return msgspec.json.encode(page)


def decode_page(data: bytes) -> DecisionPage:
    """Parse a page; raises ``msgspec.ValidationError``/``DecodeError`` on bad input."""
    return msgspec.json.decode(data, type=DecisionPage)


def parse_cursor(text: str | None) -> int:
    """A cursor from a header or query value; empty means 0 (from the start).

    Raises ``ValueError`` with a message for anything but a non-negative integer.
    """
    if text is None or text.strip() == "":
        return 0
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit():
        raise ValueError(f"cursor must be a non-negative integer, not {text[:40]!r}")
    value = int(raw)
    if value > MAX_CURSOR:
        raise ValueError("cursor is out of range")
    return value


def retry_frame(milliseconds: int) -> bytes:
    """The frame telling clients how long to wait before reconnecting."""
    return b"retry: %d\n\n" % milliseconds


def decision_frame(decision: Decision) -> bytes:
    """The SSE frame carrying one decision (its cursor is the event id)."""
    return b"id: %d\nevent: decision\ndata: %s\n\n" % (decision.cursor, encode_decision(decision))


def heartbeat_frame(head: int) -> bytes:
    """A keep-alive frame that also tells the client the log's head cursor."""
    return b'event: heartbeat\ndata: {"head":%d}\n\n' % head


@dataclass(frozen=True, slots=True)
class Event:
    """One parsed SSE event."""

    event: str
    data: str
    id: str | None = None


@dataclass(slots=True)
class SSEParser:
    """Incremental parser for an SSE byte stream (the parts Shieldwall uses).

    Feed it chunks as they arrive; it returns the events completed so far and
    keeps partial lines for the next chunk.
    """

    _buffer: bytes = b""
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """Consume ``chunk``; return every event it completed."""
        buffer = self._buffer + chunk if self._buffer else chunk
        end = buffer.rfind(b"\n")
        if end < 0:
            self._buffer = buffer
            return []
        # Every complete line at once: one decode and one split per chunk (a chunk may
        # carry a whole backlog page), not a copy of the rest of the buffer per line.
        # A newline byte is never inside a UTF-8 sequence, so this decodes as per line.
        self._buffer = buffer[end + 1 :]
        events: list[Event] = []
        for raw in buffer[:end].decode("utf-8", "replace").split("\n"):
            line = raw.rstrip("\r")
            if not line:
                if self._data or self._event:
                    events.append(Event(self._event or "message", "\n".join(self._data), self._id))
                self._event, self._data, self._id = "", [], None
                continue
            if line[0] == ":":
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                self._id = value
        return events
