"""The event: one counted fact read from a log line."""

from __future__ import annotations

import msgspec


class Event(msgspec.Struct, frozen=True, gc=False):
    """Something a service wrote about a client, ready for detection.

    ``key`` is the blamed address as counted (an IPv4 address or an IPv6 prefix);
    it always comes from a field the service itself writes. ``time`` is Unix
    seconds read from the line. ``weight`` is how many attempts the line stands
    for (``message repeated 3 times`` is 3; a line absorbed by the connection
    accounting of :mod:`.attempts` never becomes an event).

    A msgspec struct rather than a frozen dataclass: one is built per counted
    line, and this costs a tenth of the time. ``gc=False`` is safe because every
    field is an immutable scalar, so an event can never sit in a reference cycle.
    """

    time: float
    key: str
    pack: str
    pattern: str
    kind: str
    weight: int = 1
    user: str | None = None
    line: bytes = b""
