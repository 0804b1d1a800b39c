"""Turn buffers of log lines into events: scanner + clock + blame + accounting.

:class:`EventStream` is the events stage's contract: feed it complete lines (in
any chunking), get back the events they hold, in order. It is pure: the year for
BSD syslog timestamps is given, never read from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shieldwall.events.address import DEFAULT_IPV6_PREFIX, blame_key_from_text
from shieldwall.events.attempts import ConnectionTable
from shieldwall.events.event import Event
from shieldwall.events.packs import PackSpec
from shieldwall.events.patterns import Scanner
from shieldwall.events.timestamps import Clockless, TimestampError

MAX_USER_CHARS = 64


@dataclass
class StreamStats:
    """What a stream has seen so far."""

    lines: int = 0
    matched: int = 0
    events: int = 0
    #: Matched lines whose blamed text was not an address (e.g. a host name).
    unaddressed: int = 0
    bad_time: int = 0
    per_pattern: dict[str, int] = field(default_factory=dict)


class EventStream:
    """Events from one pack over one stream of lines."""

    def __init__(
        self,
        pack: PackSpec,
        *,
        year: int,
        ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
        keep_lines: bool = True,
    ) -> None:
        self.pack = pack
        self.scanner = Scanner(pack)
        self.clock = Clockless(year)
        self.connections = ConnectionTable()
        self.ipv6_prefix = ipv6_prefix
        self.keep_lines = keep_lines
        self.stats = StreamStats()
        self._kinds = [p.kind for p in pack.patterns]
        self._names = [p.name for p in pack.patterns]
        self._roles = [p.role for p in pack.patterns]
        self._time_cache: dict[bytes, float] = {}

    def feed(self, buffer: bytes) -> list[Event]:
        """Events of the complete lines in ``buffer`` (which may lack a final newline)."""
        if not buffer:
            return []
        stats = self.stats
        stats.lines += buffer.count(b"\n") + (0 if buffer.endswith(b"\n") else 1)
        out: list[Event] = []
        append = out.append
        pack_name = self.pack.name
        kinds, names, roles = self._kinds, self._names, self._roles
        time_cache = self._time_cache
        weigh = self.connections.weigh
        prefix = self.ipv6_prefix
        per_pattern = stats.per_pattern
        keep = self.keep_lines
        for index, ts, ip, user_raw, conn, repeat, line in self.scanner.scan(buffer):
            stats.matched += 1
            name = names[index]
            per_pattern[name] = per_pattern.get(name, 0) + 1
            when = time_cache.get(ts)
            if when is None:
                try:
                    when = self.clock.parse(ts)
                except TimestampError:
                    stats.bad_time += 1
                    continue
                if len(time_cache) > 8192:
                    time_cache.clear()
                time_cache[ts] = when
            key = None
            if ip is not None:
                key = blame_key_from_text(ip.decode("ascii", "replace"), prefix)
                if key is None:
                    stats.unaddressed += 1
                    continue
            key, weight = weigh(roles[index], conn, key, repeat, when)
            if key is None or weight <= 0:
                continue
            user = None
            if user_raw is not None:
                user = user_raw[: MAX_USER_CHARS * 4].decode("utf-8", "replace")[:MAX_USER_CHARS]
            append(
                Event(
                    when, key, pack_name, name, kinds[index], weight, user, line if keep else b""
                )
            )
        stats.events += len(out)
        return out
